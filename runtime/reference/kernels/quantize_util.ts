/**
 * Linear quantization shared by QuantizeLinear, DequantizeLinear,
 * DynamicQuantizeLinear and the QLinear* ops:
 *   q = saturate(round_half_even(x / scale) + zero_point)   (round, then add)
 *   x = (q - zero_point) * scale
 * Scale and zero point are per tensor (scalars) or per `axis` (1-D).
 */
import type { DType, Tensor } from "../../../compiler/ir/tensor.ts";
import { numel } from "../../../compiler/ir/tensor.ts";
import { kernelFailIf, normAxis, numbers } from "../util.ts";
import { roundHalfEven } from "./round.ts";

/** Saturation bounds of a quantized type. */
export function qRange(d: DType): [number, number] {
  switch (d) {
    case "u8":
      return [0, 255];
    case "i8":
      return [-128, 127];
    case "i32":
      return [-(2 ** 31), 2 ** 31 - 1];
    default:
      return [-Infinity, Infinity];
  }
}

/** round_half_even(v) + zeroPoint, clamped to the type's range. */
export function saturate(v: number, d: DType, zeroPoint = 0): number {
  const [lo, hi] = qRange(d);
  return Math.min(hi, Math.max(lo, roundHalfEven(v) + zeroPoint));
}

/**
 * For each element of `x`, the index into a per-axis parameter (0 when the
 * parameter is a scalar or a 1-element tensor).
 */
export function paramIndex(
  x: Tensor,
  param: Tensor | undefined,
  axisAttr: number,
): (i: number) => number {
  if (!param || param.data.length <= 1) return () => 0;
  const axis = normAxis(axisAttr, x.shape.length);
  kernelFailIf(
    param.data.length !== x.shape[axis],
    `Expected ${x.shape[axis]} per-axis values on axis ${axis}, found ${param.data.length}`,
  );
  const inner = numel(x.shape.slice(axis + 1)), dim = x.shape[axis];
  return (i) => Math.floor(i / inner) % dim;
}

/** A parameter tensor as numbers (an absent zero point is 0). */
export function paramValues(t: Tensor | undefined): ArrayLike<number> {
  return t ? numbers(t) : [0];
}
