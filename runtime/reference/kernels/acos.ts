/** Acos: y = arccos(x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const acos: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.acos)];
