/** HardSwish: y = x * max(0, min(1, x / 6 + 1/2)). */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const hardSwish: Kernel = (inputs) => [
  unaryNumeric(input(inputs, 0), (v) => v * Math.max(0, Math.min(1, v / 6 + 0.5))),
];
