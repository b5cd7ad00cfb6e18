/** HardSigmoid: y = max(0, min(1, alpha * x + beta)) (alpha 0.2, beta 0.5). */
import type { Kernel } from "../kernel.ts";
import { attrFloat, input, unaryNumeric } from "../util.ts";

export const hardSigmoid: Kernel = (inputs, attrs) => {
  const alpha = attrFloat(attrs, "alpha", 0.2);
  const beta = attrFloat(attrs, "beta", 0.5);
  return [unaryNumeric(input(inputs, 0), (v) => Math.max(0, Math.min(1, alpha * v + beta)))];
};
