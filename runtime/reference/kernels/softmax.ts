/** Softmax: y_k = e^(x_k - m) / sum_j e^(x_j - m), m the group maximum (for stability). */
import type { Kernel } from "../kernel.ts";
import { perGroup } from "./softmax_util.ts";

export const softmax: Kernel = (inputs, attrs, ctx) => [
  perGroup(inputs, attrs, ctx, (src, dst, base, n, stride) => {
    let m = -Infinity;
    for (let k = 0; k < n; k++) m = Math.max(m, src[base + k * stride]);
    let s = 0;
    for (let k = 0; k < n; k++) s += dst[base + k * stride] = Math.exp(src[base + k * stride] - m);
    for (let k = 0; k < n; k++) dst[base + k * stride] /= s;
  }),
];
