/** DequantizeLinear: y = (x - x_zero_point) * x_scale, as f32. */
import type { Kernel } from "../kernel.ts";
import { attrInt, finish, input, numbers } from "../util.ts";
import { paramIndex, paramValues } from "./quantize_util.ts";

export const dequantizeLinear: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0), scale = input(inputs, 1, "x_scale"), zp = inputs[2];
  const at = paramIndex(x, scale, attrInt(attrs, "axis", 1));
  const xv = numbers(x), s = numbers(scale), z = paramValues(zp);
  const out = new Float32Array(xv.length);
  for (let i = 0; i < xv.length; i++) {
    const k = at(i);
    out[i] = (xv[i] - z[z.length > 1 ? k : 0]) * s[k];
  }
  return [finish("f32", x.shape, out)];
};
