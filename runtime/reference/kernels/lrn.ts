/**
 * LRN: local response normalization across channels:
 *   square_sum[n, c] = sum of x[n, i]^2 for i in [c - floor((size-1)/2), c + ceil((size-1)/2)]
 *   y = x / (bias + alpha / size * square_sum) ^ beta
 */
import type { Kernel } from "../kernel.ts";
import { attrFloat, attrInt, finish, input, numbers, scratch } from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const lrn: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const size = attrInt(attrs, "size", 1);
  const alpha = attrFloat(attrs, "alpha", 1e-4), beta = attrFloat(attrs, "beta", 0.75);
  const bias = attrFloat(attrs, "bias", 1);
  const [N, C] = x.shape;
  const inner = numel(x.shape.slice(2));
  const xv = numbers(x);
  const out = scratch(x.dtype, xv.length);
  const lo = Math.floor((size - 1) / 2), hi = Math.ceil((size - 1) / 2);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < inner; i++) {
        let s = 0;
        for (let j = Math.max(0, c - lo); j <= Math.min(C - 1, c + hi); j++) {
          s += xv[(n * C + j) * inner + i] ** 2;
        }
        const f = (n * C + c) * inner + i;
        out[f] = xv[f] / Math.pow(bias + (alpha / size) * s, beta);
      }
    }
  }
  return [finish(x.dtype, x.shape, out)];
};
