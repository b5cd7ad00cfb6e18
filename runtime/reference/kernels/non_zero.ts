/** NonZero: the i64 coordinates [rank, count] of the nonzero elements, in row-major order. */
import type { Kernel } from "../kernel.ts";
import { elems, i64Tensor, input, stridesOf } from "../util.ts";

export const nonZero: Kernel = (inputs) => {
  const x = input(inputs, 0);
  const src = elems(x);
  const hits: number[] = [];
  for (let i = 0; i < src.length; i++) if (src[i] != 0) hits.push(i);
  const r = x.shape.length, str = stridesOf(x.shape);
  const out = new Array<number>(r * hits.length);
  hits.forEach((f, j) => {
    let rest = f;
    for (let d = 0; d < r; d++) {
      out[d * hits.length + j] = Math.floor(rest / str[d]);
      rest %= str[d];
    }
  });
  return [i64Tensor([r, hits.length], out)];
};
