/** IsInf: true where x is +inf (detect_positive, default 1) or -inf (detect_negative, default 1). */
import type { Kernel } from "../kernel.ts";
import { attrInt, input, unaryElems } from "../util.ts";

export const isInf: Kernel = (inputs, attrs) => {
  const pos = attrInt(attrs, "detect_positive", 1) !== 0;
  const neg = attrInt(attrs, "detect_negative", 1) !== 0;
  return [
    unaryElems(
      input(inputs, 0),
      (v) => (pos && v === Infinity) || (neg && v === -Infinity),
      "bool",
    ),
  ];
};
