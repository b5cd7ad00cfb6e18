/** Elu: y = x for x >= 0, alpha * (e^x - 1) otherwise (alpha default 1). */
import type { Kernel } from "../kernel.ts";
import { attrFloat, input, unaryNumeric } from "../util.ts";

export const elu: Kernel = (inputs, attrs) => {
  const alpha = attrFloat(attrs, "alpha", 1);
  return [unaryNumeric(input(inputs, 0), (v) => (v >= 0 ? v : alpha * Math.expm1(v)))];
};
