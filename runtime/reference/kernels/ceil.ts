/** Ceil: y = ceil(x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const ceil: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.ceil)];
