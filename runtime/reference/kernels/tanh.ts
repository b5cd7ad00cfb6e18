/** Tanh: y = tanh(x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const tanh: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.tanh)];
