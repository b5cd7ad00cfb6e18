/**
 * com.microsoft FastGelu: with u = x + bias (bias optional, over the last dim),
 *   y = 0.5 u (1 + tanh(sqrt(2 / pi) (u + 0.044715 u^3))).
 */
import type { Kernel } from "../../kernel.ts";
import { binaryNumeric, input, unaryNumeric } from "../../util.ts";

const C = Math.sqrt(2 / Math.PI);

/** The tanh approximation of GELU of one number. */
export function fastGeluOf(u: number): number {
  return 0.5 * u * (1 + Math.tanh(C * (u + 0.044715 * u * u * u)));
}

export const fastGelu: Kernel = (inputs) => {
  const x = input(inputs, 0, "X"), bias = inputs[1];
  return [
    bias ? binaryNumeric(x, bias, (a, b) => fastGeluOf(a + b)) : unaryNumeric(x, fastGeluOf),
  ];
};
