/** RandomUniformLike: RandomUniform with the input's shape (and dtype unless `dtype` is set). */
import type { Kernel } from "../kernel.ts";
import { attrFloat, input } from "../util.ts";
import { randomTensor } from "./random_util.ts";

export const randomUniformLike: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const low = attrFloat(attrs, "low", 0), high = attrFloat(attrs, "high", 1);
  return [randomTensor(attrs, x.shape, x.dtype, (r) => low + (high - low) * r.uniform())];
};
