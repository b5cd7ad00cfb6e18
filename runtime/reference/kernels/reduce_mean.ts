/** ReduceMean: the mean over `axes` (all axes by default). */
import type { Kernel } from "../kernel.ts";
import { reduce } from "./reduce_util.ts";

export const reduceMean: Kernel = (inputs, attrs, ctx) => [
  reduce(inputs, attrs, ctx, { init: 0, step: (a, x) => a + x, done: (a, n) => a / n }, 18),
];
