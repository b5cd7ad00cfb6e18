/**
 * MeanVarianceNormalization: y = (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9)
 * over `axes` (default [0, 2, 3]), as the ONNX function body defines it.
 */
import type { Kernel } from "../kernel.ts";
import { attrInts, finish, input, numbers, planReduction, scratch } from "../util.ts";

export const meanVarianceNormalization: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const plan = planReduction(x.shape, attrInts(attrs, "axes") ?? [0, 2, 3], true);
  const xv = numbers(x);
  const { map, size, count } = plan;
  const m = new Float64Array(size), m2 = new Float64Array(size);
  for (let i = 0; i < xv.length; i++) {
    m[map[i]] += xv[i];
    m2[map[i]] += xv[i] * xv[i];
  }
  for (let j = 0; j < size; j++) {
    m[j] /= count;
    m2[j] /= count;
  }
  const out = scratch(x.dtype, xv.length);
  for (let i = 0; i < xv.length; i++) {
    const j = map[i];
    out[i] = (xv[i] - m[j]) / (Math.sqrt(m2[j] - m[j] * m[j]) + 1e-9);
  }
  return [finish(x.dtype, x.shape, out)];
};
