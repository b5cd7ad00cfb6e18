/** Softsign: y = x / (1 + |x|), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const softsign: Kernel = (
  inputs,
) => [unaryNumeric(input(inputs, 0), (v) => v / (1 + Math.abs(v)))];
