/**
 * GatherElements: out has the shape of indices and
 * out[i][j][k] = data[indices[i][j][k]][j][k] for axis 0 (likewise other axes).
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, gatherFlat, input, intsOf, kernelFailIf, normAxis, stridesOf } from "../util.ts";

export const gatherElements: Kernel = (inputs, attrs) => {
  const data = input(inputs, 0), indices = input(inputs, 1);
  const rank = data.shape.length;
  kernelFailIf(indices.shape.length !== rank, "GatherElements expects indices of the data's rank");
  const axis = normAxis(attrInt(attrs, "axis", 0), rank);
  const idx = intsOf(indices);
  const dStr = stridesOf(data.shape), iStr = stridesOf(indices.shape);
  const dim = data.shape[axis];
  const map = new Int32Array(idx.length);
  for (let f = 0; f < idx.length; f++) {
    let rest = f, src = 0;
    for (let d = 0; d < rank; d++) {
      const c = Math.floor(rest / iStr[d]);
      rest -= c * iStr[d];
      let coord = c;
      if (d === axis) {
        coord = idx[f] < 0 ? idx[f] + dim : idx[f];
        kernelFailIf(coord < 0 || coord >= dim, `Index ${idx[f]} is out of range for size ${dim}`);
      }
      src += coord * dStr[d];
    }
    map[f] = src;
  }
  return [gatherFlat(data, indices.shape, map)];
};
