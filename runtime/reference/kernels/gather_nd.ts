/**
 * GatherND: the last dim of indices holds a (partial) coordinate into data
 * after the first `batch_dims` dims; each one selects an element or a slice.
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, gatherFlat, input, intsOf, kernelFailIf, stridesOf } from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const gatherND: Kernel = (inputs, attrs) => {
  const data = input(inputs, 0), indices = input(inputs, 1);
  const b = attrInt(attrs, "batch_dims", 0);
  const q = indices.shape.length;
  const k = indices.shape[q - 1];
  kernelFailIf(k > data.shape.length - b, "GatherND index tuples are longer than the data's rank");
  const batch = numel(data.shape.slice(0, b));
  const sliceShape = data.shape.slice(b + k);
  const slice = numel(sliceShape);
  const shape = [...indices.shape.slice(0, q - 1), ...sliceShape];
  const idx = intsOf(indices);
  const tuples = idx.length / k || numel(indices.shape.slice(0, q - 1));
  const perBatch = tuples / batch;
  const str = stridesOf(data.shape);
  const batchStride = numel(data.shape.slice(b));
  const map = new Int32Array(tuples * slice);
  for (let t = 0; t < tuples; t++) {
    let base = Math.floor(t / perBatch) * batchStride;
    for (let j = 0; j < k; j++) {
      const dim = data.shape[b + j];
      let c = idx[t * k + j];
      if (c < 0) c += dim;
      kernelFailIf(c < 0 || c >= dim, `Index ${idx[t * k + j]} is out of range for size ${dim}`);
      base += c * str[b + j];
    }
    for (let s = 0; s < slice; s++) map[t * slice + s] = base + s;
  }
  return [gatherFlat(data, shape, map)];
};
