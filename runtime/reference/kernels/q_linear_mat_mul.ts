/**
 * QLinearMatMul: y = quantize(((a - a_zp) @ (b - b_zp)) * a_scale * b_scale / y_scale + y_zp),
 * integer product, then one rounding (half to even) and saturation to y's type.
 * Scales and zero points are per tensor, or per row of a / per column of b.
 */
import type { Kernel } from "../kernel.ts";
import { broadcastMap, finish, input, numbers, scratch } from "../util.ts";
import { matmulTensors } from "./mat_mul.ts";
import { shifted } from "./mat_mul_integer.ts";
import { saturate } from "./quantize_util.ts";

export const qLinearMatMul: Kernel = (inputs) => {
  const a = input(inputs, 0), aScale = input(inputs, 1), aZp = input(inputs, 2);
  const b = input(inputs, 3), bScale = input(inputs, 4), bZp = input(inputs, 5);
  const yScale = input(inputs, 6), yZp = input(inputs, 7);
  const acc = matmulTensors(shifted(a, aZp, true), shifted(b, bZp, false));
  const accv = acc.data as Float64Array;
  const [M, N] = acc.shape.slice(-2);
  const as = numbers(aScale), bs = numbers(bScale);
  const ys = numbers(yScale)[0], yz = numbers(yZp)[0];
  const aMap = as.length > 1 ? broadcastMap(acc.shape, [M, 1]) : null;
  const bMap = bs.length > 1 ? broadcastMap(acc.shape, [N]) : null;
  const out = scratch(yZp.dtype, accv.length);
  for (let i = 0; i < accv.length; i++) {
    const sa = as[aMap ? aMap[i] : 0], sb = bs[bMap ? bMap[i] : 0];
    out[i] = saturate((accv[i] * sa * sb) / ys, yZp.dtype, yz);
  }
  return [finish(yZp.dtype, acc.shape, out)];
};
