/** Cos: y = cos(x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const cos: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.cos)];
