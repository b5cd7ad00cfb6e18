/** ReduceLogSum: ln(sum(x)) over `axes` (all axes by default). */
import type { Kernel } from "../kernel.ts";
import { reduce } from "./reduce_util.ts";

export const reduceLogSum: Kernel = (inputs, attrs, ctx) => [
  reduce(inputs, attrs, ctx, { init: 0, step: (a, x) => a + x, done: Math.log }, 18),
];
