/** Tan: y = tan(x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const tan: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.tan)];
