/** Asinh: y = arcsinh(x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const asinh: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.asinh)];
