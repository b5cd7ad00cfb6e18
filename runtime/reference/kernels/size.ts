/** Size: the number of elements, as an i64 scalar. */
import type { Kernel } from "../kernel.ts";
import { i64Tensor, input } from "../util.ts";

export const size: Kernel = (inputs) => [i64Tensor([], [input(inputs, 0).data.length])];
