/** Tile: repeat the tensor `repeats[d]` times along each dim d. */
import type { Kernel } from "../kernel.ts";
import { checkSize, gatherByDims, input, intsOf, kernelFailIf } from "../util.ts";

export const tile: Kernel = (inputs) => {
  const x = input(inputs, 0);
  const reps = intsOf(input(inputs, 1));
  kernelFailIf(reps.length !== x.shape.length, "Tile expects one repeat count per dim");
  const shape = x.shape.map((d, i) => d * reps[i]);
  checkSize(shape, x.dtype);
  const maps = shape.map((n, d) => Int32Array.from({ length: n }, (_, o) => o % x.shape[d]));
  return [gatherByDims(x, shape, maps)];
};
