/**
 * The axis convention of Softmax, LogSoftmax and Hardmax: before opset 13
 * the input is viewed as 2-D [prod(dims < axis), prod(dims >= axis)] (axis
 * default 1) and each row is one group; from 13 each 1-D fibre along `axis`
 * (default -1) is a group.
 */
import type { AttrValue } from "../../../compiler/ir/graph.ts";
import { numel, type Tensor } from "../../../compiler/ir/tensor.ts";
import type { KernelContext } from "../kernel.ts";
import { attrInt, finish, input, normAxis, numbers, scratch } from "../util.ts";

/** Apply `fn` to every group: it reads `src` and writes `dst` at base + k * stride, k < n. */
export function perGroup(
  inputs: (Tensor | undefined)[],
  attrs: Record<string, AttrValue>,
  ctx: KernelContext,
  fn: (src: ArrayLike<number>, dst: Float64Array, base: number, n: number, stride: number) => void,
): Tensor {
  const x = input(inputs, 0);
  const legacy = ctx.opset < 13;
  const axis = normAxis(attrInt(attrs, "axis", legacy ? 1 : -1), Math.max(1, x.shape.length));
  const outer = numel(x.shape.slice(0, axis));
  const dim = legacy ? numel(x.shape.slice(axis)) : x.shape[axis] ?? 1;
  const inner = legacy ? 1 : numel(x.shape.slice(axis + 1));
  const src = numbers(x);
  const dst = new Float64Array(src.length);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) fn(src, dst, o * dim * inner + j, dim, inner);
  }
  const out = scratch(x.dtype, src.length);
  for (let i = 0; i < src.length; i++) out[i] = dst[i];
  return finish(x.dtype, x.shape, out);
}
