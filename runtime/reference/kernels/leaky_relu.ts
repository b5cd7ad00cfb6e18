/** LeakyRelu: y = x for x >= 0, alpha * x otherwise (alpha default 0.01). */
import type { Kernel } from "../kernel.ts";
import { attrFloat, input, unaryNumeric } from "../util.ts";

export const leakyRelu: Kernel = (inputs, attrs) => {
  const alpha = attrFloat(attrs, "alpha", 0.01);
  return [unaryNumeric(input(inputs, 0), (v) => (v >= 0 ? v : alpha * v))];
};
