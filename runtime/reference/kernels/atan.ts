/** Atan: y = arctan(x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const atan: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.atan)];
