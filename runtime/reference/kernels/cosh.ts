/** Cosh: y = cosh(x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const cosh: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.cosh)];
