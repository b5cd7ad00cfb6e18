/** GlobalLpPool: (sum of |x|^p over each (n, c) plane)^(1/p), p default 2. */
import type { Kernel } from "../kernel.ts";
import { attrInt, input } from "../util.ts";
import { globalPool } from "./global_pool_util.ts";

export const globalLpPool: Kernel = (inputs, attrs) => {
  const p = attrInt(attrs, "p", 2);
  return [
    globalPool(input(inputs, 0), (v, start, n) => {
      let s = 0;
      for (let i = start; i < start + n; i++) s += Math.pow(Math.abs(v[i]), p);
      return Math.pow(s, 1 / p);
    }),
  ];
};
