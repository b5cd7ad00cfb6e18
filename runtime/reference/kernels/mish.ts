/** Mish: y = x * tanh(softplus(x)), elementwise. */
import type { Kernel } from "../kernel.ts";
import { input, unaryNumeric } from "../util.ts";

export const mish: Kernel = (
  inputs,
) => [
  unaryNumeric(
    input(inputs, 0),
    (v) => v * Math.tanh(Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)))),
  ),
];
