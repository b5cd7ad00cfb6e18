/**
 * GatherElements: out has the shape of indices and
 * out[i][j][k] = data[indices[i][j][k]][j][k] for axis 0 (likewise other axes).
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, gatherFlat, input, normAxis } from "../util.ts";
import { alongAxisOffsets } from "./along_axis_util.ts";

export const gatherElements: Kernel = (inputs, attrs) => {
  const data = input(inputs, 0), indices = input(inputs, 1);
  const axis = normAxis(attrInt(attrs, "axis", 0), data.shape.length);
  return [gatherFlat(data, indices.shape, alongAxisOffsets(data.shape, indices, axis))];
};
