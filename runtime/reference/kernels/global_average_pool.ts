/** GlobalAveragePool: the mean of each (n, c) plane. */
import type { Kernel } from "../kernel.ts";
import { input } from "../util.ts";
import { globalPool } from "./global_pool_util.ts";

export const globalAveragePool: Kernel = (inputs) => [
  globalPool(input(inputs, 0), (v, start, n) => {
    let s = 0;
    for (let i = start; i < start + n; i++) s += v[i];
    return s / n;
  }),
];
