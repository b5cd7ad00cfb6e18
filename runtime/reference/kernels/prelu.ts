/** PRelu: y = x for x >= 0, slope * x otherwise; slope broadcasts to x. */
import type { Kernel } from "../kernel.ts";
import { binaryNumeric, input } from "../util.ts";

export const prelu: Kernel = (inputs) => {
  const x = input(inputs, 0), slope = input(inputs, 1);
  return [binaryNumeric(x, slope, (v, s) => (v >= 0 ? v : s * v), x.dtype)];
};
