/** Sign: -1, 0 or 1 by the sign of x (NaN stays NaN). */
import type { Kernel } from "../kernel.ts";
import { input, unaryElems } from "../util.ts";

export const sign: Kernel = (inputs) => [
  unaryElems(input(inputs, 0), (v) => (v > 0 ? 1 : v < 0 ? -1 : v === v ? 0 : NaN)),
];
