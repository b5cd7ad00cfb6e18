/** Less: elementwise a < b with numpy broadcasting, as a bool tensor. */
import type { Kernel } from "../kernel.ts";
import { binaryElems, input, sameDType } from "../util.ts";

export const less: Kernel = (inputs) => {
  sameDType(inputs, "Less");
  return [binaryElems(input(inputs, 0), input(inputs, 1), (a, b) => a < b, "bool")];
};
