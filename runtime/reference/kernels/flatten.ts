/** Flatten: reshape to 2-D [prod(dims before axis), prod(dims from axis)] (axis default 1). */
import type { Kernel } from "../kernel.ts";
import { attrInt, input, kernelFailIf, reshaped } from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const flatten: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const rank = x.shape.length;
  let axis = attrInt(attrs, "axis", 1);
  kernelFailIf(axis < -rank || axis > rank, `Expected axis in [${-rank}, ${rank}], found ${axis}`);
  if (axis < 0) axis += rank;
  return [reshaped(x, [numel(x.shape.slice(0, axis)), numel(x.shape.slice(axis))])];
};
