/**
 * Unique: the distinct elements (or slices along `axis`) of X, sorted
 * ascending (sorted=1, default) or in order of first occurrence; also the
 * i64 index of each one's first occurrence, each input's position in Y
 * (inverse_indices), and the counts.
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, gatherFlat, i64Tensor, input, normAxis } from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const unique: Kernel = (inputs, attrs) => {
  let x = input(inputs, 0);
  const sorted = attrInt(attrs, "sorted", 1) !== 0;
  let axis = 0;
  if (attrs.axis === undefined) x = { ...x, shape: [x.data.length] };
  else axis = normAxis(attrs.axis as number, x.shape.length);
  const outer = numel(x.shape.slice(0, axis)), dim = x.shape[axis];
  const inner = numel(x.shape.slice(axis + 1));
  const src = x.data as ArrayLike<any>;
  // Slice k along the axis, as a list of its elements.
  const sliceOf = (k: number) => {
    const v: any[] = [];
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < inner; j++) v.push(src[(o * dim + k) * inner + j]);
    }
    return v;
  };
  const slices = Array.from({ length: dim }, (_, k) => sliceOf(k));
  const keyOf = (v: any[]) => v.map(String).join("\u0000");
  const first = new Map<string, number>();
  const order: number[] = [];
  for (let k = 0; k < dim; k++) {
    const key = keyOf(slices[k]);
    if (!first.has(key)) {
      first.set(key, k);
      order.push(k);
    }
  }
  if (sorted) {
    order.sort((a, b) => {
      const va = slices[a], vb = slices[b];
      for (let i = 0; i < va.length; i++) if (va[i] !== vb[i]) return va[i] < vb[i] ? -1 : 1;
      return 0;
    });
  }
  const pos = new Map(order.map((k, i) => [keyOf(slices[k]), i]));
  const inverse = slices.map((s) => pos.get(keyOf(s))!);
  const counts = new Array<number>(order.length).fill(0);
  for (const i of inverse) counts[i]++;
  const shape = x.shape.map((d, i) => (i === axis ? order.length : d));
  const map = new Int32Array(numel(shape));
  let f = 0;
  for (let o = 0; o < outer; o++) {
    for (const k of order) for (let j = 0; j < inner; j++) map[f++] = (o * dim + k) * inner + j;
  }
  return [
    gatherFlat(x, shape, map),
    i64Tensor([order.length], order),
    i64Tensor([dim], inverse),
    i64Tensor([order.length], counts),
  ];
};
