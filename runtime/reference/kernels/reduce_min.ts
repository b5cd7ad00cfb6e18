/** ReduceMin: the minimum (NaN propagates) over `axes` (all axes by default). */
import type { Kernel } from "../kernel.ts";
import { reduce } from "./reduce_util.ts";

export const reduceMin: Kernel = (inputs, attrs, ctx) => [
  reduce(inputs, attrs, ctx, { init: Infinity, step: (a, x) => (a !== a || a <= x ? a : x) }, 18),
];
