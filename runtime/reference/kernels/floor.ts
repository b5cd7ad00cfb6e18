/** Floor: y = floor(x), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const floor: Kernel = (inputs) => [unaryNumeric(input(inputs, 0), Math.floor)];
