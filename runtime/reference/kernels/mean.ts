/** Mean: elementwise mean of one or more tensors, broadcast: (x1 + ... + xn) / n. */
import type { Kernel } from "../kernel.ts";
import { binaryNumeric, kernelFailIf, sameDType, unaryNumeric } from "../util.ts";
import type { Tensor } from "../../../compiler/ir/tensor.ts";

export const mean: Kernel = (inputs) => {
  const ts = inputs.filter((t): t is Tensor => !!t);
  kernelFailIf(ts.length === 0, "Mean expects at least one input");
  sameDType(ts, "Mean");
  // Accumulate in f64, round once to the input type at the end.
  const f64 = ts.map((t) => unaryNumeric(t, (v) => v, "f64"));
  const total = f64.reduce((acc, t) => binaryNumeric(acc, t, (a, b) => a + b));
  return [unaryNumeric(total, (v) => v / ts.length, ts[0].dtype)];
};
