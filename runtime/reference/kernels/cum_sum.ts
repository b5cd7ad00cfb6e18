/**
 * CumSum: running sums along `axis` (a scalar input). exclusive=1 shifts by
 * one (y_0 = 0); reverse=1 sums from the end.
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, elems, fromValues, input, isBig, normAxis, scalarOf } from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const cumSum: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const axis = normAxis(scalarOf(input(inputs, 1, "axis")), x.shape.length);
  const exclusive = attrInt(attrs, "exclusive", 0) !== 0;
  const reverse = attrInt(attrs, "reverse", 0) !== 0;
  const outer = numel(x.shape.slice(0, axis)), dim = x.shape[axis];
  const inner = numel(x.shape.slice(axis + 1));
  const src = elems(x);
  const zero = isBig(x.dtype) ? 0n : 0;
  const out = new Array(src.length);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let acc: any = zero;
      for (let s = 0; s < dim; s++) {
        const k = reverse ? dim - 1 - s : s;
        const f = (o * dim + k) * inner + j;
        if (exclusive) {
          out[f] = acc;
          acc += src[f];
        } else {
          acc += src[f];
          out[f] = acc;
        }
      }
    }
  }
  return [fromValues(x.dtype, x.shape, out)];
};
