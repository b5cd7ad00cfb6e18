/** BlackmanWindow: w[n] = 0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N). */
import type { Kernel } from "../kernel.ts";
import { cosineWindow } from "./window_util.ts";

export const blackmanWindow: Kernel = (inputs, attrs) => [
  cosineWindow(inputs, attrs, [0.42, 0.5, 0.08]),
];
