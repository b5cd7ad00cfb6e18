/** ReduceProd: the product over `axes` (all axes by default). */
import type { Kernel } from "../kernel.ts";
import { reduce } from "./reduce_util.ts";

export const reduceProd: Kernel = (inputs, attrs, ctx) => [
  reduce(inputs, attrs, ctx, { init: 1, step: (a, x) => a * x }, 18),
];
