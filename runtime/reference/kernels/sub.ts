/** Sub: y = a - b with numpy broadcasting. */
import type { Kernel } from "../kernel.ts";
import { binaryElems, input, sameDType } from "../util.ts";

export const sub: Kernel = (inputs) => {
  sameDType(inputs, "Sub");
  return [binaryElems(input(inputs, 0), input(inputs, 1), (a, b) => a - b)];
};
