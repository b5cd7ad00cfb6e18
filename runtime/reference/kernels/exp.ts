/** Exp: y = e^x, elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const exp: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.exp)];
