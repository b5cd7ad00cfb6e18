/** Transpose: permute the axes by `perm` (default: reverse them). */
import type { Kernel } from "../kernel.ts";
import { attrInts, gatherFlat, indexMap, input, kernelFailIf, stridesOf } from "../util.ts";
import type { Tensor } from "../../../compiler/ir/tensor.ts";

/** `x` with its axes permuted: output dim d is input dim perm[d]. */
export function transposeTensor(x: Tensor, perm: number[]): Tensor {
  const rank = x.shape.length;
  const sorted = [...perm].sort((a, b) => a - b);
  kernelFailIf(
    perm.length !== rank || sorted.some((p, i) => p !== i),
    `Expected perm to be a permutation of 0..${rank - 1}, found [${perm.join(", ")}]`,
  );
  const str = stridesOf(x.shape);
  const shape = perm.map((p) => x.shape[p]);
  return gatherFlat(x, shape, indexMap(shape, perm.map((p) => str[p]), 0));
}

export const transpose: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const perm = attrInts(attrs, "perm") ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  return [transposeTensor(x, perm)];
};
