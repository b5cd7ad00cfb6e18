/** Abs: y = |x|, for every numeric type (bigints stay exact). */
import type { Kernel } from "../kernel.ts";
import { input, unaryElems } from "../util.ts";

export const abs: Kernel = (inputs) => [unaryElems(input(inputs, 0), (v) => (v < 0 ? -v : v))];
