/**
 * ScatterElements: a copy of data where, for each element of updates,
 * out[..., indices[i, j, ...], ...] (the index replacing the `axis`
 * coordinate) is set to (or combined with, per `reduction`) updates[i, j, ...].
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, attrString, elems, fromValues, input, kernelFailIf, normAxis } from "../util.ts";
import { combiner } from "./scatter_util.ts";
import { alongAxisOffsets } from "./along_axis_util.ts";
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
  const axis = normAxis(axisAttr, data.shape.length);
  const map = alongAxisOffsets(data.shape, indices, axis);
  const upd = elems(updates);
  kernelFailIf(upd.length !== map.length, "ScatterElements expects updates of the indices' shape");
  if (data.dtype === "f16" || data.dtype === "bf16") {
    // Stored as bits: combine as numbers, round once.
    const out = Array.from(elems(data));
    for (let f = 0; f < map.length; f++) out[map[f]] = combine(out[map[f]], upd[f]);
    return fromValues(data.dtype, data.shape, out);
  }
  // A copy of data's typed array, combined in its own type (as onnxruntime does: an f32 sum is
  // rounded at each addition).
  const out = (data.data as unknown as { slice(): typeof data.data }).slice();
  const o = out as unknown as { [i: number]: number | bigint | boolean };
  if (reduction === "none") { for (let f = 0; f < map.length; f++) o[map[f]] = upd[f]; }
  else for (let f = 0; f < map.length; f++) o[map[f]] = combine(o[map[f]], upd[f]);
  return { dtype: data.dtype, shape: [...data.shape], data: out };
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
