/** A contiguous range of one axis, shared by Split and the recurrent kernels. */
import { gatherFlat, indexMap, stridesOf } from "../util.ts";
import type { Tensor } from "../../../compiler/ir/tensor.ts";

/** Elements [start, start + len) of `axis`. */
export function sliceAxis(x: Tensor, axis: number, start: number, len: number): Tensor {
  const str = stridesOf(x.shape);
  const shape = [...x.shape];
  shape[axis] = len;
  return gatherFlat(x, shape, indexMap(shape, str, start * str[axis]));
}
