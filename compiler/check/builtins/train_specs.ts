/**
 * The constructors of training settings (`adam(lr: 1e-3)`, `cosine_lr(...)`,
 * `clip_norm(...)`, the fine-tuning methods of `with`) and `phase(...)` of a
 * train section. Compile-time functions: a setting is a `spec` value that
 * records its arguments and the span of its call; train/compile.ts and
 * peft.ts give it meaning. The settings' arguments are declared in
 * train_rules.ts, with their defaults and updates.
 */
import { diag } from "../../diagnostics.ts";
import type { CompileFn } from "../context.ts";
import { METHOD_ARGS } from "../peft.ts";
import type { ArgType } from "../signature.ts";
import { describe, ERROR, NONE, type Value } from "../values.ts";
import {
  CLIPS,
  describeSetting,
  describeSettingValue,
  languageArgs,
  MINIBATCHES,
  MOVING_AVERAGE,
  OPTIMIZERS,
  type Range,
  SCHEDULES,
  type SettingArg,
  settingProblem,
} from "./train_rules.ts";

/**
 * A training-setting constructor (`adam(lr: 1e-3)`): named arguments of the
 * given types, all optional (the training compiler applies the defaults),
 * each number in its declared range (DLM0210 at the argument). The value
 * keeps the call's span.
 */
function specFn(kind: string, params: { name: string; type: ArgType; range?: Range }[]): CompileFn {
  return (ctx, args) => {
    const bound = ctx.bind(
      kind,
      params.map(({ name, type }) => ({ name, type, optional: true })),
      args,
    );
    if (!bound) return ERROR;
    const out: Record<string, Value> = {};
    let bad = false;
    for (const p of params) {
      const v = bound[p.name];
      if (v === undefined) continue;
      if (settingProblem(p, v) === "range") {
        ctx.error(
          ...diag("DLM0210", `${kind}()'s ${p.name}`, describeSetting(p), describeSettingValue(v)),
          bound.__spans?.[p.name] ?? ctx.span,
        );
        bad = true;
      }
      out[p.name] = v;
    }
    if (bad) return ERROR;
    return { k: "spec", kind, args: out, span: ctx.span };
  };
}

/** The constructor of a declared setting (train_rules.ts), taking its language arguments. */
function ruleFn(rule: { name: string; args: readonly SettingArg[] }): [string, CompileFn] {
  return [rule.name, specFn(rule.name, languageArgs(rule))];
}

/**
 * Optimisers, learning-rate schedules, clipping and weight averaging, in the
 * reference's order (moving_average between the two clipping rules, as the
 * list of compile-time functions has always had it).
 */
export const SETTINGS: Record<string, CompileFn> = Object.fromEntries([
  ...OPTIMIZERS.map(ruleFn),
  ...SCHEDULES.map(ruleFn),
  ruleFn(CLIPS[0]),
  ruleFn(MOVING_AVERAGE),
  ...CLIPS.slice(1).map(ruleFn),
  ruleFn(MINIBATCHES),
]);

/** The fine-tuning methods of `with` (their meaning is compiler/check/peft.ts's). */
export const METHODS: Record<string, CompileFn> = Object.fromEntries(
  Object.entries(METHOD_ARGS).map((
    [k, ps],
  ) => [k, specFn(k, (ps as [string, ArgType][]).map(([name, type]) => ({ name, type })))]),
);

/**
 * `phase("disc", loss: d_loss, optimizer: adam(lr: 2e-4), params: "disc.*")`
 * in a train section: one optimisation step of an iteration. Phases run
 * in order within one training step; a later phase sees the parameters
 * earlier phases updated (a GAN's discriminator, then generator, step).
 */
export const phase: CompileFn = (ctx, args) => {
  const span = ctx.span;
  const phases = ctx.phases;
  if (!phases) return ctx.error(...diag("DLM0120", "phase()", "a train section"));
  const a = ctx.bind(
    "phase",
    [
      { name: "name", type: "str" },
      { name: "loss", type: "tensor" },
      { name: "optimizer", type: "any" },
      { name: "params", type: "str", optional: true },
    ],
    args,
  );
  if (!a) return ERROR;
  const name = (a.name as { v: string }).v;
  if (phases.some((p) => p.name === name)) {
    return ctx.error(...diag("DLM0115", "phase", name));
  }
  if (a.optimizer.k !== "spec") {
    return ctx.error(
      ...diag("DLM0201", "phase()", "an optimizer such as adam(lr: 2e-4)", describe(a.optimizer)),
      a.__spans?.optimizer ?? span,
    );
  }
  phases.push({
    name,
    loss: a.loss,
    optimizer: a.optimizer,
    params: a.params?.k === "str" ? a.params.v : undefined,
    span,
  });
  return NONE;
};

/**
 * `kmeans(features, k: 10, every: 1, iterations: 100, classes: label)`: a stage for
 * `input pseudo: i64[N] from kmeans(...)` in a train section (deep clustering). Before the
 * epochs it is due (every `every`, and a run's first), `dlm train` runs the model over the
 * training data, clusters the rows of `features` ([N, F]) into k clusters with k-means
 * (runtime/eval/kmeans.ts) and feeds each row's cluster as `pseudo` to the epoch's updates.
 * `classes:`, a data input, only scores each clustering (NMI and matched accuracy in the
 * history). The value records its arguments and their spans; the input statement checks them
 * (elaborate/statements.ts).
 */
export const kmeansStage: CompileFn = (ctx, args) => {
  const a = ctx.bind(
    "kmeans",
    [
      { name: "x", type: "tensor" },
      { name: "k", type: "int" },
      { name: "every", type: "int", optional: true },
      { name: "iterations", type: "int", optional: true },
      { name: "classes", type: "tensor", optional: true },
    ],
    args,
  );
  if (!a) return ERROR;
  let bad = false;
  for (const [name, min] of [["k", 1], ["every", 1], ["iterations", 1]] as const) {
    const v = a[name];
    if (v?.k === "int" && v.v < min) {
      ctx.error(
        ...diag("DLM0210", `kmeans()'s ${name}`, `an int >= ${min}`, v.v),
        a.__spans?.[name] ?? ctx.span,
      );
      bad = true;
    }
  }
  if (bad) return ERROR;
  const out: Record<string, Value> = {};
  for (const k of ["x", "k", "every", "iterations", "classes"]) if (a[k]) out[k] = a[k];
  return { k: "spec", kind: "kmeans", args: out, span: ctx.span, argSpans: a.__spans };
};
