/** com.microsoft Gelu: y = 0.5 x (1 + erf(x / sqrt 2)), elementwise. */
import type { Kernel } from "../../kernel.ts";
import { input, unaryNumeric } from "../../util.ts";
import { erf } from "../erf.ts";

/** The exact GELU of one number. */
export function geluOf(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

export const gelu: Kernel = (inputs) => [unaryNumeric(input(inputs, 0, "X"), geluOf)];
