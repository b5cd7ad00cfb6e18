/** LogSoftmax: y_k = x_k - m - ln(sum_j e^(x_j - m)), m the group maximum. */
import type { Kernel } from "../kernel.ts";
import { perGroup } from "./softmax_util.ts";

export const logSoftmax: Kernel = (inputs, attrs, ctx) => [
  perGroup(inputs, attrs, ctx, (src, dst, base, n, stride) => {
    let m = -Infinity;
    for (let k = 0; k < n; k++) m = Math.max(m, src[base + k * stride]);
    let s = 0;
    for (let k = 0; k < n; k++) s += Math.exp(src[base + k * stride] - m);
    const lse = m + Math.log(s);
    for (let k = 0; k < n; k++) dst[base + k * stride] = src[base + k * stride] - lse;
  }),
];
