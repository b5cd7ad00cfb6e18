/** Or: logical or of two bool tensors, broadcast. */
import type { Kernel } from "../kernel.ts";
import { binaryElems, input } from "../util.ts";

export const or: Kernel = (inputs) => [
  binaryElems(input(inputs, 0), input(inputs, 1), (a, b) => a || b, "bool"),
];
