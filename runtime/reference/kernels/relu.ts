/** Relu: y = max(x, 0); NaN stays NaN. `v - v` is a zero of v's own type (0 or 0n). */
import type { Kernel } from "../kernel.ts";
import { input, unaryElems } from "../util.ts";

export const relu: Kernel = (inputs) => [unaryElems(input(inputs, 0), (v) => (v < 0 ? v - v : v))];
