/** Acosh: y = arccosh(x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const acosh: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.acosh)];
