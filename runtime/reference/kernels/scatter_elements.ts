/**
 * ScatterElements: a copy of data where, for each element of updates,
 * out[..., indices[i, j, ...], ...] (the index replacing the `axis`
 * coordinate) is set to (or combined with, per `reduction`) updates[i, j, ...].
 */
import type { Kernel } from "../kernel.ts";
import {
  attrInt,
  attrString,
  elems,
  fromValues,
  input,
  intsOf,
  kernelFailIf,
  normAxis,
  stridesOf,
} from "../util.ts";
import { combiner } from "./scatter_util.ts";
import type { Tensor } from "../../../compiler/ir/tensor.ts";

/** Shared with the deprecated Scatter op. */
export function scatterElementsTensor(
  data: Tensor,
  indices: Tensor,
  updates: Tensor,
  axisAttr: number,
  reduction: string,
): Tensor {
  const combine = combiner(reduction);
  const r = data.shape.length;
  const axis = normAxis(axisAttr, r);
  const idx = intsOf(indices), upd = elems(updates);
  const iStr = stridesOf(indices.shape), dStr = stridesOf(data.shape);
  const out = Array.from(elems(data));
  const dim = data.shape[axis];
  for (let f = 0; f < idx.length; f++) {
    let rest = f, target = 0;
    for (let d = 0; d < r; d++) {
      let c = Math.floor(rest / iStr[d]);
      rest -= c * iStr[d];
      if (d === axis) {
        c = idx[f] < 0 ? idx[f] + dim : idx[f];
        kernelFailIf(c < 0 || c >= dim, `Index ${idx[f]} is out of range for size ${dim}`);
      }
      target += c * dStr[d];
    }
    out[target] = combine(out[target], upd[f]);
  }
  return fromValues(data.dtype, data.shape, out);
}

export const scatterElements: Kernel = (inputs, attrs) => [
  scatterElementsTensor(
    input(inputs, 0),
    input(inputs, 1),
    input(inputs, 2),
    attrInt(attrs, "axis", 0),
    attrString(attrs, "reduction", "none"),
  ),
];
