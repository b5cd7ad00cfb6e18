/**
 * OneHot: for indices of shape S, an output of shape S with a new dim of
 * size depth inserted at `axis` (default -1), values[1] where the position
 * equals the index (negative indices count from depth) and values[0] elsewhere.
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, elems, fromValues, input, kernelFailIf, numbers, scalarOf } from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const oneHot: Kernel = (inputs, attrs) => {
  const indices = input(inputs, 0), values = input(inputs, 2, "values");
  const depth = Math.trunc(scalarOf(input(inputs, 1, "depth")));
  kernelFailIf(values.data.length !== 2, "OneHot expects values = [off, on]");
  const r = indices.shape.length + 1;
  let axis = attrInt(attrs, "axis", -1);
  kernelFailIf(axis < -r || axis >= r, `Expected axis in [${-r}, ${r - 1}], found ${axis}`);
  if (axis < 0) axis += r;
  const shape = [...indices.shape.slice(0, axis), depth, ...indices.shape.slice(axis)];
  const outer = numel(indices.shape.slice(0, axis)), inner = numel(indices.shape.slice(axis));
  const idx = numbers(indices);
  const [off, on] = Array.from(elems(values));
  const out = new Array(numel(shape)).fill(off);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let i = Math.trunc(idx[o * inner + j]);
      if (i < 0) i += depth;
      if (i >= 0 && i < depth) out[(o * depth + i) * inner + j] = on;
    }
  }
  return [fromValues(values.dtype, shape, out)];
};
