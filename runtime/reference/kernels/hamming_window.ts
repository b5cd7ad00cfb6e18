/** HammingWindow: w[n] = 25/46 - 21/46 cos(2 pi n / N). */
import type { Kernel } from "../kernel.ts";
import { cosineWindow } from "./window_util.ts";

export const hammingWindow: Kernel = (inputs, attrs) => [
  cosineWindow(inputs, attrs, [25 / 46, 21 / 46]),
];
