/** ReduceL2: sqrt(sum(x^2)) over `axes` (all axes by default). */
import type { Kernel } from "../kernel.ts";
import { reduce } from "./reduce_util.ts";

export const reduceL2: Kernel = (inputs, attrs, ctx) => [
  reduce(inputs, attrs, ctx, { init: 0, step: (a, x) => a + x * x, done: Math.sqrt }, 18),
];
