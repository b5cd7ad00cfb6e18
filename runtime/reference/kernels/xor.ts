/** Xor: logical exclusive or of two bool tensors, broadcast. */
import type { Kernel } from "../kernel.ts";
import { binaryElems, input } from "../util.ts";

export const xor: Kernel = (inputs) => [
  binaryElems(input(inputs, 0), input(inputs, 1), (a, b) => (a ? 1 : 0) ^ (b ? 1 : 0), "bool"),
];
