/**
 * Small helpers the built-in definitions share: literal values for default
 * arguments, the tensor view of a bound argument, and one-node graph ops.
 */
import { tensor } from "../../ir/tensor.ts";
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

/** One node with one output; undefined when the op reported an error. */
export function op1(
  ctx: Ctx,
  op: string,
  inputs: string[],
  attrs: Record<string, number | number[] | string> = {},
  name?: string,
): TensorValue | undefined {
  const r = ctx.op(op, inputs, attrs, name ? { name } : {});
  return r ? r[0] : undefined;
}

/** A 1-D i64 constant (shapes, axes, slice bounds). */
export function ints(ctx: Ctx, xs: number[]): string {
  return ctx.constant(tensor("i64", [xs.length], xs)).v;
}
