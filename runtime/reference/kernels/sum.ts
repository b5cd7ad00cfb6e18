/** Sum: elementwise sum of one or more tensors, broadcast. */
import type { Kernel } from "../kernel.ts";
import { binaryElems, kernelFailIf, sameDType } from "../util.ts";
import type { Tensor } from "../../../compiler/ir/tensor.ts";

export const sum: Kernel = (inputs) => {
  const ts = inputs.filter((t): t is Tensor => !!t);
  kernelFailIf(ts.length === 0, "Sum expects at least one input");
  sameDType(ts, "Sum");
  return [ts.reduce((acc, t) => binaryElems(acc, t, (a, b) => a + b))];
};
