/** ThresholdedRelu: y = x for x > alpha, 0 otherwise (alpha default 1). */
import type { Kernel } from "../kernel.ts";
import { attrFloat, input, unaryNumeric } from "../util.ts";

export const thresholdedRelu: Kernel = (inputs, attrs) => {
  const alpha = attrFloat(attrs, "alpha", 1);
  return [unaryNumeric(input(inputs, 0), (v) => (v > alpha ? v : 0))];
};
