/** QuantizeLinear: y = saturate(round_half_even(x / y_scale) + y_zero_point); u8 when no zero point. */
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
    out[i] = saturate(xv[i] / s[k] + z[z.length > 1 ? k : 0], dtype);
  }
  return [finish(dtype, x.shape, out)];
};
