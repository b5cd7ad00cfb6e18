/** Celu: y = max(0, x) + min(0, alpha * (e^(x/alpha) - 1)) (alpha default 1). */
import type { Kernel } from "../kernel.ts";
import { attrFloat, input, unaryNumeric } from "../util.ts";

export const celu: Kernel = (inputs, attrs) => {
  const alpha = attrFloat(attrs, "alpha", 1);
  return [
    unaryNumeric(
      input(inputs, 0),
      (v) => Math.max(0, v) + Math.min(0, alpha * Math.expm1(v / alpha)),
    ),
  ];
};
