/**
 * The constructors of training settings (`adam(lr: 1e-3)`, `cosine_lr(...)`,
 * `clip_norm(...)`, the fine-tuning methods of `with`) and `phase(...)` of a
 * train section. Compile-time functions: a setting is a `spec` value that
 * records its arguments; train/compile.ts and peft.ts give it meaning.
 */
import type { CompileFn } from "../context.ts";
import { METHOD_ARGS } from "../peft.ts";
import type { ArgType } from "../signature.ts";
import { describe, ERROR, NONE, type Value } from "../values.ts";

/**
 * A training-setting constructor (`adam(lr: 1e-3)`): named arguments of the
 * given types, all optional (defaults are the builders' PyTorch defaults).
 */
function specFn(kind: string, params: [string, ArgType][]): CompileFn {
  return (ctx, args) => {
    const bound = ctx.bind(
      kind,
      params.map(([name, type]) => ({ name, type, optional: true })),
      args,
    );
    if (!bound) return ERROR;
    const out: Record<string, Value> = {};
    for (const [name] of params) if (bound[name] !== undefined) out[name] = bound[name];
    return { k: "spec", kind, args: out };
  };
}

/** Optimisers, learning-rate schedules, clipping and weight averaging, in the reference's order. */
export const SETTINGS: Record<string, CompileFn> = {
  sgd: specFn("sgd", [
    ["lr", "number"],
    ["momentum", "number"],
    ["dampening", "number"],
    ["nesterov", "bool"],
    ["weight_decay", "number"],
    ["no_decay", "str"],
  ]),
  adam: specFn("adam", [
    ["lr", "number"],
    ["beta1", "number"],
    ["beta2", "number"],
    ["eps", "number"],
    ["weight_decay", "number"],
    ["no_decay", "str"],
  ]),
  adamw: specFn("adamw", [
    ["lr", "number"],
    ["beta1", "number"],
    ["beta2", "number"],
    ["eps", "number"],
    ["weight_decay", "number"],
    ["no_decay", "str"],
  ]),
  adagrad: specFn("adagrad", [
    ["lr", "number"],
    ["lr_decay", "number"],
    ["eps", "number"],
    ["weight_decay", "number"],
    ["no_decay", "str"],
  ]),
  rmsprop: specFn("rmsprop", [
    ["lr", "number"],
    ["alpha", "number"],
    ["eps", "number"],
    ["momentum", "number"],
    ["centered", "bool"],
    ["weight_decay", "number"],
    ["no_decay", "str"],
  ]),
  step_lr: specFn("step_lr", [["step_size", "int"], ["gamma", "number"], ["warmup", "int"]]),
  exponential_lr: specFn("exponential_lr", [["gamma", "number"], ["warmup", "int"]]),
  cosine_lr: specFn("cosine_lr", [["t_max", "int"], ["eta_min", "number"], ["warmup", "int"]]),
  clip_norm: specFn("clip_norm", [["max_norm", "number"]]),
  moving_average: specFn("moving_average", [
    ["target", "str"],
    ["source", "str"],
    ["decay", "number"],
  ]),
  clip_value: specFn("clip_value", [["value", "number"]]),
};

/** The fine-tuning methods of `with` (their meaning is compiler/check/peft.ts's). */
export const METHODS: Record<string, CompileFn> = Object.fromEntries(
  Object.entries(METHOD_ARGS).map(([k, ps]) => [k, specFn(k, ps as [string, ArgType][])]),
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
  if (!phases) return ctx.error("DLM0110", "phase() belongs in a train section");
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
    return ctx.error("DLM0102", `phase '${name}' is declared twice`);
  }
  if (a.optimizer.k !== "spec") {
    return ctx.error(
      "DLM0201",
      `phase() needs an optimizer such as adam(lr: 2e-4), got ${describe(a.optimizer)}`,
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
