/** Neg: y = -x, for the signed numeric types. */
import type { Kernel } from "../kernel.ts";
import { input, unaryElems } from "../util.ts";

export const neg: Kernel = (inputs) => [unaryElems(input(inputs, 0), (v) => -v)];
