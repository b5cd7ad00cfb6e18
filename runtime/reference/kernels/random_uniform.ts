/** RandomUniform: samples of U[low, high) (defaults 0, 1) of the attribute `shape`. */
import type { Kernel } from "../kernel.ts";
import { attrFloat, attrInts, kernelFailIf } from "../util.ts";
import { randomTensor } from "./random_util.ts";

export const randomUniform: Kernel = (_inputs, attrs) => {
  const shape = attrInts(attrs, "shape");
  kernelFailIf(!shape, "RandomUniform requires the attribute 'shape'");
  const low = attrFloat(attrs, "low", 0), high = attrFloat(attrs, "high", 1);
  return [randomTensor(attrs, shape!, "f32", (r) => low + (high - low) * r.uniform())];
};
