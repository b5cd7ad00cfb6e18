/** ReduceMax: the maximum (NaN propagates) over `axes` (all axes by default). */
import type { Kernel } from "../kernel.ts";
import { reduce } from "./reduce_util.ts";

export const reduceMax: Kernel = (inputs, attrs, ctx) => [
  reduce(inputs, attrs, ctx, { init: -Infinity, step: (a, x) => (a !== a || a >= x ? a : x) }, 18),
];
