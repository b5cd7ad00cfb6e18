/**
 * Compress: keep the slices along `axis` where condition is true (condition
 * may be shorter than the dim); without axis, the flattened input's elements.
 */
import type { Kernel } from "../kernel.ts";
import { gatherFlat, input, normAxis } from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const compress: Kernel = (inputs, attrs) => {
  let x = input(inputs, 0);
  const cond = input(inputs, 1, "condition").data as Uint8Array;
  let axis = 0;
  if (attrs.axis === undefined) x = { ...x, shape: [x.data.length] };
  else axis = normAxis(attrs.axis as number, x.shape.length);
  const dim = x.shape[axis];
  const keep: number[] = [];
  for (let i = 0; i < Math.min(dim, cond.length); i++) if (cond[i]) keep.push(i);
  const outer = numel(x.shape.slice(0, axis)), inner = numel(x.shape.slice(axis + 1));
  const map = new Int32Array(outer * keep.length * inner);
  let k = 0;
  for (let o = 0; o < outer; o++) {
    for (const i of keep) for (let j = 0; j < inner; j++) map[k++] = (o * dim + i) * inner + j;
  }
  const shape = x.shape.map((d, i) => (i === axis ? keep.length : d));
  return [gatherFlat(x, shape, map)];
};
