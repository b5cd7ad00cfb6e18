/** Identity: y = x (tensors are immutable, so the same tensor is returned). */
import type { Kernel } from "../kernel.ts";
import { input } from "../util.ts";

export const identity: Kernel = (inputs) => [input(inputs, 0)];
