/**
 * Optimisers as plain ONNX graph ops (opset 17): `buildOptimizer` appends the
 * update of every parameter to a training-step graph. Optimiser state is
 * read from graph inputs named `opt:<slot>:<param>` (compiler/train/contract.ts)
 * and the new values are returned; the caller names them `next:<input>`.
 * State inputs start at zeros; `step` is the number of updates done before
 * this one (so PyTorch's step count is step + 1).
 *
 * Each optimiser's arguments, defaults, state slots and update are declared
 * once, in compiler/check/builtins/train_rules.ts; this file is the plumbing
 * around them (state inputs, parameter groups, the order of the updates).
 */
import type { GraphBuilder } from "../ops/builder.ts";
import { compileGlob } from "../check/glob.ts";
import { optSlotName } from "./contract.ts";
import { trainMath } from "./graph_math.ts";
import {
  type OptimizerHyper,
  type OptimizerRule,
  optimizerRule,
  withDefaults,
} from "../check/builtins/train_rules.ts";

export type {
  AdagradSpec,
  AdamSpec,
  OptimizerHyper,
  RmspropSpec,
  SgdSpec,
} from "../check/builtins/train_rules.ts";

/**
 * A parameter group: hyper-parameter overrides for the parameters whose
 * `group` equals `name` or whose name matches the glob `params`
 * (compiler/check/glob.ts). The first matching group wins. `lrScale`
 * multiplies the learning rate.
 */
export interface ParamGroup {
  name?: string;
  params?: string;
  lrScale?: number;
  overrides?: Record<string, number | boolean>;
}

export type OptimizerSpec = OptimizerHyper & { groups?: ParamGroup[] };

export interface OptimizerParam {
  name: string;
  grad: string;
  group?: string;
  /** The name that selects its group when `name` is not a parameter's (a pack's first member). */
  groupOf?: string;
}

export interface StateUpdate {
  /** The graph input (a parameter or `opt:<slot>:<param>`). */
  input: string;
  /** Its new value. */
  output: string;
}

/** The rule of `spec`'s optimiser. */
function ruleOf(spec: OptimizerHyper): OptimizerRule {
  const rule = optimizerRule(spec.kind);
  if (!rule) throw new Error(`internal: unknown optimiser ${spec.kind}`);
  return rule;
}

/** The state slots an optimiser keeps per parameter, in input order. */
export function optimizerSlots(spec: OptimizerHyper): string[] {
  const rule = ruleOf(spec);
  const h = withDefaults(rule, spec);
  return rule.slots.filter((s) => !s.when || s.when.holds(h)).map((s) => s.name);
}

/** The spec that applies to one parameter (group overrides merged in) and its lr scale. */
export function resolveGroup(
  spec: OptimizerSpec,
  p: { name: string; group?: string },
): { hyper: OptimizerHyper; lrScale: number } {
  const { groups, ...base } = spec;
  const g = groups?.find((g) =>
    (g.name !== undefined && g.name === p.group) ||
    (g.params !== undefined && compileGlob(g.params).test(p.name))
  );
  if (!g) return { hyper: base as OptimizerHyper, lrScale: 1 };
  return {
    hyper: { ...base, ...(g.overrides ?? {}) } as OptimizerHyper,
    lrScale: g.lrScale ?? 1,
  };
}

/**
 * Whether the update of `param` leaves an element whose gradient and state are zero as it was,
 * its state zero: so for SGD (any momentum, dampening, Nesterov), Adam, AdamW, RMSprop (centred
 * or not) and AdaGrad without weight decay (with it, `g + wd p` or `p (1 - lr wd)` moves every
 * element), which compiler/train/pack.ts's tapWindows relies on.
 */
export function keepsZeros(spec: OptimizerSpec, param: string): boolean {
  const { hyper } = resolveGroup(spec, { name: param });
  const h = withDefaults(ruleOf(hyper), hyper) as { weightDecay?: number };
  return ["sgd", "adam", "adamw", "rmsprop", "adagrad"].includes(hyper.kind) &&
    h.weightDecay === 0;
}

/**
 * Append the optimiser update of `params` to the graph. Declares one graph
 * input per state slot and parameter (`opt:<slot>:<param>`, the
 * parameter's type) and returns, for each parameter and state input, the
 * value to feed next time. `step` is an i64 scalar, `lr` an f32 scalar.
 *
 * @example
 * const { updates } = buildOptimizer(b, { kind: "adamw" }, [{ name: "w", grad: "grad:w" }], "step", lr);
 *
 * `current` chains updates within one step (compiler/train/minibatches.ts): for a parameter or a
 * state input it gives the value an earlier update made, which this one reads instead of the input
 * (state inputs are declared by the first update only); the updates returned still name the inputs.
 * for (const u of updates) b.output(u.output, nextName(u.input));
 */
export function buildOptimizer(
  b: GraphBuilder,
  spec: OptimizerSpec,
  params: OptimizerParam[],
  step: string,
  lr: string,
  current?: Map<string, string>,
): { updates: StateUpdate[] } {
  const e = trainMath(b);
  const updates: StateUpdate[] = [];
  // Shared per-step values, built once.
  const stepF = e.v(step).cast("f32");
  const t = stepF.add(1); // PyTorch's step count
  const isFirst = e.v(step).equal(e.scalar(0, "i64"));
  // The input each value read as a parameter or state stands for (itself unless chained).
  const inputOf = new Map<string, string>();
  for (const p of params) {
    const { hyper, lrScale } = resolveGroup(spec, { name: p.groupOf ?? p.name, group: p.group });
    const type = b.typeOf(p.name);
    if (!type) throw new Error(`internal: parameter ${p.name} has no type`);
    const state = (slot: string) => {
      const name = optSlotName(slot, p.name);
      const now = current?.get(name);
      if (now) {
        inputOf.set(now, name);
        return e.v(now);
      }
      const v = b.input(name, { dtype: type.dtype, shape: [...type.shape] });
      if (v !== name) throw new Error(`internal: optimiser state name ${name} is taken`);
      return e.v(v);
    };
    const x = current?.get(p.name) ?? p.name;
    inputOf.set(x, p.name);
    const rule = ruleOf(hyper);
    const slots = optimizerSlots(hyper);
    const plr = e.v(lr).scale(lrScale);
    rule.update({
      e,
      x: e.v(x),
      grad: e.v(p.grad),
      lr: plr,
      stepF,
      t,
      isFirst,
      state: (slot) => {
        if (!slots.includes(slot)) throw new Error(`internal: ${rule.name} has no slot ${slot}`);
        return state(slot);
      },
      out: (input, output) =>
        updates.push({ input: inputOf.get(input.name) ?? input.name, output: output.name }),
    }, withDefaults(rule, hyper));
  }
  // Parameters first, then state, so callers can list outputs in a stable order.
  const isParam = new Set(params.map((p) => p.name));
  updates.sort((a, b) => Number(!isParam.has(a.input)) - Number(!isParam.has(b.input)));
  return { updates };
}
