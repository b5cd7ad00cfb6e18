/**
 * TopK: the k largest (largest=1, default) or smallest values along `axis`
 * (default -1) and their i64 indices, sorted (ties: the lower index first).
 * k is an input from opset 10, an attribute before.
 */
import type { Kernel } from "../kernel.ts";
import {
  attrInt,
  elems,
  fromValues,
  i64Tensor,
  input,
  kernelFailIf,
  normAxis,
  scalarOf,
} from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const topK: Kernel = (inputs, attrs, ctx) => {
  const x = input(inputs, 0);
  const axis = normAxis(attrInt(attrs, "axis", -1), x.shape.length);
  const k = ctx.opset < 10 ? attrInt(attrs, "k", 0) : scalarOf(input(inputs, 1, "K"));
  const largest = attrInt(attrs, "largest", 1) !== 0;
  const dim = x.shape[axis];
  kernelFailIf(k < 0 || k > dim, `Expected k in [0, ${dim}], found ${k}`);
  const outer = numel(x.shape.slice(0, axis)), inner = numel(x.shape.slice(axis + 1));
  const src = elems(x);
  const vals = new Array(outer * k * inner), idx = new Array<number>(outer * k * inner);
  const order = Array.from({ length: dim }, (_, i) => i);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const at = (i: number) => src[(o * dim + i) * inner + j];
      order.sort((a, b) => {
        const va = at(a), vb = at(b);
        if (va !== vb) return (largest ? va < vb : va > vb) ? 1 : -1;
        return a - b;
      });
      for (let r = 0; r < k; r++) {
        vals[(o * k + r) * inner + j] = at(order[r]);
        idx[(o * k + r) * inner + j] = order[r];
      }
      for (let i = 0; i < dim; i++) order[i] = i;
    }
  }
  const shape = x.shape.map((d, i) => (i === axis ? k : d));
  return [fromValues(x.dtype, shape, vals), i64Tensor(shape, idx)];
};
