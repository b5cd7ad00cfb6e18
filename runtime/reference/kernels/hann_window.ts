/** HannWindow: w[n] = 0.5 - 0.5 cos(2 pi n / N). */
import type { Kernel } from "../kernel.ts";
import { cosineWindow } from "./window_util.ts";

export const hannWindow: Kernel = (inputs, attrs) => [cosineWindow(inputs, attrs, [0.5, 0.5])];
