/**
 * QuantizeLinear: y = saturate(round_half_even(x / y_scale) + y_zero_point), rounding
 * before the zero point is added; u8 when there is no zero point.
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, finish, input, numbers, scratch } from "../util.ts";
import { paramIndex, paramValues, saturate } from "./quantize_util.ts";

export const quantizeLinear: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0), scale = input(inputs, 1, "y_scale"), zp = inputs[2];
  const dtype = zp?.dtype ?? "u8";
  const at = paramIndex(x, scale, attrInt(attrs, "axis", 1));
  const xv = numbers(x), s = numbers(scale), z = paramValues(zp);
  const out = scratch(dtype, xv.length);
  for (let i = 0; i < xv.length; i++) {
    const k = at(i);
    // x / scale is an f32 division (as onnxruntime computes it) before the rounding.
    out[i] = saturate(Math.fround(xv[i] / s[k]), dtype, z[z.length > 1 ? k : 0]);
  }
  return [finish(dtype, x.shape, out)];
};
