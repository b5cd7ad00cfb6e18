/** Sigmoid: y = 1 / (1 + e^-x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const sigmoid: Kernel = (
  inputs,
) => [unaryNumeric(input(inputs, 0), (v) => 1 / (1 + Math.exp(-v)))];
