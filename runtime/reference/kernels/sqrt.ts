/** Sqrt: y = sqrt(x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const sqrt: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.sqrt)];
