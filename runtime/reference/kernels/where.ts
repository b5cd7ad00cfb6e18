/** Where: out = cond ? x : y, elementwise with three-way numpy broadcasting. */
import type { Kernel } from "../kernel.ts";
import { broadcastMap, broadcastShapes, input, kernelFailIf } from "../util.ts";
import { allocData, numel } from "../../../compiler/ir/tensor.ts";

export const where: Kernel = (inputs) => {
  const c = input(inputs, 0), x = input(inputs, 1), y = input(inputs, 2);
  kernelFailIf(
    x.dtype !== y.dtype,
    `Where expects x and y of one dtype, found ${x.dtype} and ${y.dtype}`,
  );
  const shape = broadcastShapes(c.shape, x.shape, y.shape);
  const n = numel(shape);
  const mc = broadcastMap(shape, c.shape), mx = broadcastMap(shape, x.shape);
  const my = broadcastMap(shape, y.shape);
  const cd = c.data as Uint8Array, xd = x.data as any, yd = y.data as any;
  const out = allocData(x.dtype, n) as any;
  for (let i = 0; i < n; i++) {
    out[i] = cd[mc ? mc[i] : i] ? xd[mx ? mx[i] : i] : yd[my ? my[i] : i];
  }
  return [{ dtype: x.dtype, shape, data: out }];
};
