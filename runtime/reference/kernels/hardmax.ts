/** Hardmax: 1 at the first maximum of each group, 0 elsewhere. */
import type { Kernel } from "../kernel.ts";
import { perGroup } from "./softmax_util.ts";

export const hardmax: Kernel = (inputs, attrs, ctx) => [
  perGroup(inputs, attrs, ctx, (src, dst, base, n, stride) => {
    let best = 0;
    for (let k = 1; k < n; k++) if (src[base + k * stride] > src[base + best * stride]) best = k;
    if (n > 0) dst[base + best * stride] = 1;
  }),
];
