/**
 * Small helpers the built-in definitions share: literal values for default
 * arguments, the tensor view of a bound argument, and graph building
 * through the shared expression API (`ir/expr.ts`).
 */
import type { TensorType } from "../../ir/graph.ts";
import { type Expr, ExprGraph } from "../../ir/expr.ts";
import { type DType, tensor } from "../../ir/tensor.ts";
import type { Ctx } from "../context.ts";
import type { ParamSig } from "../signature.ts";
import type { TensorValue, Value } from "../values.ts";

/** An int literal (a default argument). */
export const i = (v: number): Value => ({ k: "int", v });
/** A float literal. */
export const fl = (v: number): Value => ({ k: "float", v });
/** A bool literal. */
export const B = (v: boolean): Value => ({ k: "bool", v });

/** The usual first parameter: the input tensor `x`. */
export const X: ParamSig = { name: "x", type: "tensor" };

/** A bound argument the signature declared as a tensor. */
export function t(v: Value): TensorValue {
  return v as TensorValue;
}

/** A 1-D i64 constant (shapes, axes, slice bounds). */
export function ints(ctx: Ctx, xs: number[]): string {
  return ctx.constant(tensor("i64", [xs.length], xs)).v;
}

/** Raised once `ctx.op` has reported a diagnostic; the built-in catches it and returns ERROR. */
export class Reported extends Error {}

/**
 * The expression API over a built-in's `Ctx`: nodes go through `ctx.op` (a
 * node whose shape rule fails has reported its error and throws
 * {@link Reported}), constants through `ctx.constant`, shared with the rest
 * of the elaboration. Values made here, or given with `tensor()`, keep
 * their `TensorValue`.
 */
export class CtxGraph extends ExprGraph {
  readonly #vals: Map<string, TensorValue>;

  /** @param scalarDtype the dtype of number operands (absent: the other operand's) */
  constructor(readonly ctx: Ctx, scalarDtype?: DType) {
    const vals = new Map<string, TensorValue>();
    const keep = (v: TensorValue) => {
      vals.set(v.v, v);
      return v.v;
    };
    super({
      node(op, inputs, attrs, opts) {
        const r = ctx.op(op, inputs, attrs, opts);
        if (!r) throw new Reported();
        return r.map(keep);
      },
      constant: (t) => keep(ctx.constant(t)),
      scalar: (v, dtype) => keep(ctx.scalar(v, dtype)),
      typeOf(name) {
        const v = vals.get(name);
        if (!v) throw new Error(`internal: value ${name} was not made through this context`);
        return v.t;
      },
    }, scalarDtype);
    this.#vals = vals;
  }

  /** A tensor argument as a value. */
  tensor(v: TensorValue): Expr {
    this.#vals.set(v.v, v);
    return this.v(v.v);
  }
  /** The `TensorValue` of a value made or given here. */
  value(x: Expr): TensorValue {
    const v = this.#vals.get(x.name);
    if (!v) throw new Error(`internal: value ${x.name} was not made through this context`);
    return v;
  }
  /** `x` with a more precise type (see `Ctx.refine`). */
  refine(x: Expr, type: TensorType): Expr {
    return this.tensor(this.ctx.refine(this.value(x), type));
  }
}

/**
 * Run `body` on a {@link CtxGraph} of `ctx` (numbers as `scalarDtype`
 * scalars, when given) and return its result, or undefined once a node has
 * reported an error.
 *
 * @example
 * // sigmoid(x) * x, undefined when a shape rule fails
 * const y = withGraph(ctx, (e) => e.tensor(x).sigmoid().mul(e.tensor(x)));
 */
export function withGraph(
  ctx: Ctx,
  body: (e: CtxGraph) => Expr,
  scalarDtype?: DType,
): TensorValue | undefined {
  return withGraphs(ctx, (e) => [body(e)], scalarDtype)?.[0];
}

/**
 * {@link withGraph} for a body with several results (made in one context,
 * so that their nodes and constants interleave as the body makes them).
 *
 * @example
 * // a named node: the node and its output take the name `${prefix}.keys`
 * const [k2, v2] = withGraphs(ctx, (e) => [
 *   e.op1("Concat", [pk, k.v], { axis: 1 }, { name: `${prefix}.keys` }),
 *   e.op1("Concat", [pv, v.v], { axis: 1 }, { name: `${prefix}.values` }),
 * ]) ?? [];
 */
export function withGraphs(
  ctx: Ctx,
  body: (e: CtxGraph) => Expr[],
  scalarDtype?: DType,
): TensorValue[] | undefined {
  const e = new CtxGraph(ctx, scalarDtype);
  try {
    return body(e).map((x) => e.value(x));
  } catch (err) {
    if (err instanceof Reported) return undefined;
    throw err;
  }
}
