/** CastLike: Cast to the element type of the second input. */
import type { Kernel } from "../kernel.ts";
import { input } from "../util.ts";
import { castTensor } from "./cast.ts";

export const castLike: Kernel = (inputs) => [castTensor(input(inputs, 0), input(inputs, 1).dtype)];
