/** Sin: y = sin(x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const sin: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.sin)];
