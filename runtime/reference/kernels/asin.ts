/** Asin: y = arcsin(x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const asin: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.asin)];
