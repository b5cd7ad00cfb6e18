/**
 * Reverse-mode automatic differentiation over the IR (the backward half of
 * a training step), built from the gradient rules of the op table.
 */
export {
  buildGradients,
  GRAD_VALUE_PREFIX,
  type GradientOptions,
  type GradientReach,
  gradientReach,
} from "./autodiff.ts";
