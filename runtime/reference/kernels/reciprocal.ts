/** Reciprocal: y = 1 / x, elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const reciprocal: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), (v) => 1 / v)];
