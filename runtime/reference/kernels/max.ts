/** Max: elementwise maximum of one or more tensors, broadcast; NaN propagates (numpy). */
import type { Kernel } from "../kernel.ts";
import { binaryElems, kernelFailIf, sameDType } from "../util.ts";
import type { Tensor } from "../../../compiler/ir/tensor.ts";

export const max: Kernel = (inputs) => {
  const ts = inputs.filter((t): t is Tensor => !!t);
  kernelFailIf(ts.length === 0, "Max expects at least one input");
  sameDType(ts, "Max");
  // `a !== a` is true only for NaN.
  return [ts.reduce((acc, t) => binaryElems(acc, t, (a, b) => (a !== a || a >= b ? a : b)))];
};
