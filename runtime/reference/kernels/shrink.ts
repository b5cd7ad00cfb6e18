/** Shrink: y = x + bias for x < -lambd, x - bias for x > lambd, else 0 (bias 0, lambd 0.5). */
import type { Kernel } from "../kernel.ts";
import { attrFloat, input, unaryNumeric } from "../util.ts";

export const shrink: Kernel = (inputs, attrs) => {
  const bias = attrFloat(attrs, "bias", 0);
  const lambd = attrFloat(attrs, "lambd", 0.5);
  return [
    unaryNumeric(input(inputs, 0), (v) => (v < -lambd ? v + bias : v > lambd ? v - bias : 0)),
  ];
};
