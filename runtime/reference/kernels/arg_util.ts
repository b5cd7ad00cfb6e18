/** Shared by ArgMax and ArgMin: axis (default 0), keepdims (default 1), select_last_index. */
import type { AttrValue } from "../../../compiler/ir/graph.ts";
import { numel, type Tensor } from "../../../compiler/ir/tensor.ts";
import { attrInt, elems, i64Tensor, input, normAxis } from "../util.ts";

/** Index along the axis of the element that `better` prefers over all others. */
export function argExtreme(
  inputs: (Tensor | undefined)[],
  attrs: Record<string, AttrValue>,
  better: (a: any, b: any) => boolean,
): Tensor {
  const x = input(inputs, 0);
  const axis = normAxis(attrInt(attrs, "axis", 0), x.shape.length);
  const keep = attrInt(attrs, "keepdims", 1) !== 0;
  const last = attrInt(attrs, "select_last_index", 0) !== 0;
  const outer = numel(x.shape.slice(0, axis)), inner = numel(x.shape.slice(axis + 1));
  const dim = x.shape[axis];
  const src = elems(x);
  const out = new Array<number>(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * dim * inner + j;
      let best = 0, bv = src[base];
      for (let k = 1; k < dim; k++) {
        const v = src[base + k * inner];
        // Ties keep the first index, or move to the later one with select_last_index.
        if (better(v, bv) || (last && v === bv)) {
          best = k;
          bv = v;
        }
      }
      out[o * inner + j] = best;
    }
  }
  const shape = keep
    ? x.shape.map((d, i) => (i === axis ? 1 : d))
    : x.shape.filter((_, i) => i !== axis);
  return i64Tensor(shape, out);
}
