/**
 * ScatterND: a copy of data where, for each index tuple in the last dim of
 * indices, the addressed element or slice is replaced by (or combined with,
 * per `reduction`) the matching slice of updates.
 */
import type { Kernel } from "../kernel.ts";
import { attrString, elems, fromValues, input, intsOf, kernelFailIf, stridesOf } from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";
import { combiner } from "./scatter_util.ts";

export const scatterND: Kernel = (inputs, attrs) => {
  const data = input(inputs, 0), indices = input(inputs, 1), updates = input(inputs, 2);
  const combine = combiner(attrString(attrs, "reduction", "none"));
  const k = indices.shape[indices.shape.length - 1];
  kernelFailIf(k > data.shape.length, "ScatterND index tuples are longer than the data's rank");
  const slice = numel(data.shape.slice(k));
  const tuples = numel(indices.shape.slice(0, -1));
  const idx = intsOf(indices), upd = elems(updates), str = stridesOf(data.shape);
  const out = Array.from(elems(data));
  for (let t = 0; t < tuples; t++) {
    let base = 0;
    for (let j = 0; j < k; j++) {
      let c = idx[t * k + j];
      if (c < 0) c += data.shape[j];
      kernelFailIf(c < 0 || c >= data.shape[j], `Index ${idx[t * k + j]} is out of range`);
      base += c * str[j];
    }
    for (let s = 0; s < slice; s++) out[base + s] = combine(out[base + s], upd[t * slice + s]);
  }
  return [fromValues(data.dtype, data.shape, out)];
};
