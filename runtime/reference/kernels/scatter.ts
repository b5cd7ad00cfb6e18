/** Scatter (deprecated since opset 11): ScatterElements without reduction. */
import type { Kernel } from "../kernel.ts";
import { attrInt, input } from "../util.ts";
import { scatterElementsTensor } from "./scatter_elements.ts";

export const scatter: Kernel = (inputs, attrs) => [
  scatterElementsTensor(
    input(inputs, 0),
    input(inputs, 1),
    input(inputs, 2),
    attrInt(attrs, "axis", 0),
    "none",
  ),
];
