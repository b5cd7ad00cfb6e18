/** ConstantOfShape: a tensor of the given shape filled with `value` (default f32 0). */
import type { Kernel } from "../kernel.ts";
import { checkSize, input, intsOf, kernelFailIf } from "../util.ts";
import { allocData, numel, type Tensor } from "../../../compiler/ir/tensor.ts";

export const constantOfShape: Kernel = (inputs, attrs) => {
  const shape = intsOf(input(inputs, 0));
  kernelFailIf(shape.some((d) => d < 0), `Expected a shape of non-negative dims, found [${shape}]`);
  const value = attrs.value as Tensor | undefined;
  const dtype = value?.dtype ?? "f32";
  checkSize(shape, dtype);
  const data = allocData(dtype, numel(shape)) as any;
  if (value) data.fill((value.data as any)[0]);
  return [{ dtype, shape, data }];
};
