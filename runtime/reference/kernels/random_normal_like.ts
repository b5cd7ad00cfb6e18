/** RandomNormalLike: RandomNormal with the input's shape (and dtype unless `dtype` is set). */
import type { Kernel } from "../kernel.ts";
import { attrFloat, input } from "../util.ts";
import { randomTensor } from "./random_util.ts";

export const randomNormalLike: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const mean = attrFloat(attrs, "mean", 0), scale = attrFloat(attrs, "scale", 1);
  return [randomTensor(attrs, x.shape, x.dtype, (r) => mean + scale * r.normal())];
};
