/** Sinh: y = sinh(x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const sinh: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.sinh)];
