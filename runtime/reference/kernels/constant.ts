/** Constant: the tensor given by exactly one of its value attributes. */
import type { Kernel } from "../kernel.ts";
import { i64Tensor, kernelFail } from "../util.ts";
import { type Tensor, tensor } from "../../../compiler/ir/tensor.ts";

export const constant: Kernel = (_inputs, attrs) => {
  const a = attrs;
  if (a.value !== undefined) return [a.value as Tensor];
  if (a.value_float !== undefined) return [tensor("f32", [], [a.value_float as number])];
  if (a.value_floats !== undefined) {
    const v = a.value_floats as number[];
    return [tensor("f32", [v.length], v)];
  }
  if (a.value_int !== undefined) return [i64Tensor([], [a.value_int as number])];
  if (a.value_ints !== undefined) {
    const v = a.value_ints as number[];
    return [i64Tensor([v.length], v)];
  }
  if (a.value_string !== undefined) {
    return [{ dtype: "str", shape: [], data: [a.value_string as string] }];
  }
  if (a.value_strings !== undefined) {
    const v = a.value_strings as string[];
    return [{ dtype: "str", shape: [v.length], data: [...v] }];
  }
  return kernelFail("Constant has no value attribute (sparse_value is not supported)");
};
