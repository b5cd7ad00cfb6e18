/** GlobalMaxPool: the maximum of each (n, c) plane. */
import type { Kernel } from "../kernel.ts";
import { input } from "../util.ts";
import { globalPool } from "./global_pool_util.ts";

export const globalMaxPool: Kernel = (inputs) => [
  globalPool(input(inputs, 0), (v, start, n) => {
    let m = -Infinity;
    for (let i = start; i < start + n; i++) if (v[i] > m || v[i] !== v[i]) m = v[i];
    return m;
  }),
];
