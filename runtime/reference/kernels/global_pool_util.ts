/** Global pooling: fold each (n, c) plane to one value, keeping rank (spatial dims become 1). */
import { numel, type Tensor } from "../../../compiler/ir/tensor.ts";
import { finish, kernelFailIf, numbers, scratch } from "../util.ts";

/** `fold(values, start, count)` for every plane of x. */
export function globalPool(
  x: Tensor,
  fold: (v: ArrayLike<number>, start: number, count: number) => number,
): Tensor {
  kernelFailIf(x.shape.length < 2, `Global pooling expects rank >= 2, found [${x.shape}]`);
  const planes = x.shape[0] * x.shape[1];
  const size = numel(x.shape.slice(2));
  const xv = numbers(x);
  const out = scratch(x.dtype, planes);
  for (let p = 0; p < planes; p++) out[p] = fold(xv, p * size, size);
  return finish(x.dtype, [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)], out);
}
