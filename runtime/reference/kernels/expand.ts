/** Expand: broadcast x against `shape` (numpy rules in both directions). */
import type { Kernel } from "../kernel.ts";
import { broadcastShapes, broadcastTo, checkSize, input, intsOf } from "../util.ts";

export const expand: Kernel = (inputs) => {
  const x = input(inputs, 0);
  const shape = broadcastShapes(x.shape, intsOf(input(inputs, 1)));
  checkSize(shape, x.dtype);
  return [broadcastTo(x, shape)];
};
