/** NegativeLogLikelihoodLoss: see nll_util.ts for the maths. */
import type { Kernel } from "../kernel.ts";
import { input } from "../util.ts";
import { nllLoss } from "./nll_util.ts";

export const negativeLogLikelihoodLoss: Kernel = (inputs, attrs) => [
  nllLoss(input(inputs, 0), input(inputs, 1, "target"), inputs[2], attrs),
];
