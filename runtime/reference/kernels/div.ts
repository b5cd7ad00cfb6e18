/**
 * Div: y = a / b with numpy broadcasting. Integer division truncates toward
 * zero (C semantics); an integer division by zero gives 0 rather than a trap.
 */
import type { Kernel } from "../kernel.ts";
import { binaryElems, input, isFloatType, sameDType } from "../util.ts";

export const div: Kernel = (inputs) => {
  sameDType(inputs, "Div");
  const a = input(inputs, 0), b = input(inputs, 1);
  if (isFloatType(a.dtype)) return [binaryElems(a, b, (x, y) => x / y)];
  return [
    binaryElems(a, b, (x, y) => {
      if (typeof x === "bigint") return y === 0n ? 0n : x / y;
      return y === 0 ? 0 : Math.trunc(x / y);
    }),
  ];
};
