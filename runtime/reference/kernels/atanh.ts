/** Atanh: y = arctanh(x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const atanh: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.atanh)];
