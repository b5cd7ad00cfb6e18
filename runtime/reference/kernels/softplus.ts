/** Softplus: y = ln(1 + e^x), computed as max(x, 0) + ln(1 + e^-|x|) so large |x| does not overflow, elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const softplus: Kernel = (
  inputs,
) => [unaryNumeric(input(inputs, 0), (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))))];
