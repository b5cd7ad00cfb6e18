/** Min: elementwise minimum of one or more tensors, broadcast; NaN propagates (numpy). */
import type { Kernel } from "../kernel.ts";
import { binaryElems, kernelFailIf, sameDType } from "../util.ts";
import type { Tensor } from "../../../compiler/ir/tensor.ts";

export const min: Kernel = (inputs) => {
  const ts = inputs.filter((t): t is Tensor => !!t);
  kernelFailIf(ts.length === 0, "Min expects at least one input");
  sameDType(ts, "Min");
  return [ts.reduce((acc, t) => binaryElems(acc, t, (a, b) => (a !== a || a <= b ? a : b)))];
};
