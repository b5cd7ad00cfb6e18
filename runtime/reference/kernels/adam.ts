/**
 * Adam (ai.onnx.preview.training): G' = norm_coefficient * X + G,
 * V' = alpha V + (1 - alpha) G', H' = beta H + (1 - beta) G'^2,
 * R' = T > 0 ? R sqrt(1 - beta^T) / (1 - alpha^T) : R,
 * X' = (1 - norm_coefficient_post) (X - R' V' / (sqrt(H') + epsilon)).
 */
import type { Kernel } from "../kernel.ts";
import { attrFloat } from "../util.ts";
import { optimizerStep } from "./optimizer_util.ts";

export const adam: Kernel = (inputs, attrs) => {
  const alpha = attrFloat(attrs, "alpha", 0.8999999761581421);
  const beta = attrFloat(attrs, "beta", 0.9990000128746033);
  const eps = attrFloat(attrs, "epsilon", 9.999999974752427e-7);
  const norm = attrFloat(attrs, "norm_coefficient", 0);
  const post = attrFloat(attrs, "norm_coefficient_post", 0);
  return optimizerStep(inputs, 4, 3, (R, T, [x, g, v, h]) => {
    const gr = norm * x + g;
    const vNew = alpha * v + (1 - alpha) * gr;
    const hNew = beta * h + (1 - beta) * gr * gr;
    const rAdj = T > 0 ? (R * Math.sqrt(1 - beta ** T)) / (1 - alpha ** T) : R;
    const xNew = x - (rAdj * vNew) / (Math.sqrt(hNew) + eps);
    return [(1 - post) * xNew, vNew, hNew];
  });
};
