/**
 * Gather: out[i.., j.., k..] = data[i.., indices[j..], k..] along `axis`
 * (default 0); negative indices count from the end.
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, gatherFlat, input, intsOf, kernelFailIf, normAxis } from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const gather: Kernel = (inputs, attrs) => {
  const data = input(inputs, 0), indices = input(inputs, 1);
  const axis = normAxis(attrInt(attrs, "axis", 0), data.shape.length);
  const dim = data.shape[axis];
  const idx = intsOf(indices).map((i) => {
    kernelFailIf(i < -dim || i >= dim, `Index ${i} is out of range for a dim of size ${dim}`);
    return i < 0 ? i + dim : i;
  });
  const outer = numel(data.shape.slice(0, axis));
  const inner = numel(data.shape.slice(axis + 1));
  const shape = [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)];
  const map = new Int32Array(outer * idx.length * inner);
  let k = 0;
  for (let o = 0; o < outer; o++) {
    for (const i of idx) {
      const base = (o * dim + i) * inner;
      for (let j = 0; j < inner; j++) map[k++] = base + j;
    }
  }
  return [gatherFlat(data, shape, map)];
};
