/** Log: y = ln(x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const log: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.log)];
