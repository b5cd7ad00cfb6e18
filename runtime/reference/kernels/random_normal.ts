/** RandomNormal: samples of N(mean, scale^2) (defaults 0, 1) of the attribute `shape`. */
import type { Kernel } from "../kernel.ts";
import { attrFloat, attrInts, kernelFailIf } from "../util.ts";
import { randomTensor } from "./random_util.ts";

export const randomNormal: Kernel = (_inputs, attrs) => {
  const shape = attrInts(attrs, "shape");
  kernelFailIf(!shape, "RandomNormal requires the attribute 'shape'");
  const mean = attrFloat(attrs, "mean", 0), scale = attrFloat(attrs, "scale", 1);
  return [randomTensor(attrs, shape!, "f32", (r) => mean + scale * r.normal())];
};
