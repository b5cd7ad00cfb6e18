/** IsNaN: true where x is NaN. */
import type { Kernel } from "../kernel.ts";
import { input, unaryElems } from "../util.ts";

export const isNaN: Kernel = (inputs) => [unaryElems(input(inputs, 0), (v) => v !== v, "bool")];
