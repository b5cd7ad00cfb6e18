/** com.microsoft BiasGelu: c = gelu(a + b) with the exact (erf) GELU, b over the last dim. */
import type { Kernel } from "../../kernel.ts";
import { binaryNumeric, input } from "../../util.ts";
import { geluOf } from "./gelu.ts";

export const biasGelu: Kernel = (inputs) => [
  binaryNumeric(input(inputs, 0, "A"), input(inputs, 1, "B"), (a, b) => geluOf(a + b)),
];
