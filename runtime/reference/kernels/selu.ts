/** Selu: y = gamma * x for x > 0, gamma * alpha * (e^x - 1) otherwise. */
import type { Kernel } from "../kernel.ts";
import { attrFloat, input, unaryNumeric } from "../util.ts";

export const selu: Kernel = (inputs, attrs) => {
  const alpha = attrFloat(attrs, "alpha", 1.67326319217681884765625);
  const gamma = attrFloat(attrs, "gamma", 1.05070102519226837158203125);
  return [
    unaryNumeric(input(inputs, 0), (v) => (v > 0 ? gamma * v : gamma * alpha * Math.expm1(v))),
  ];
};
