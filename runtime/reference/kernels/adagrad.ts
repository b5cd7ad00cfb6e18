/**
 * Adagrad (ai.onnx.preview.training): r = R / (1 + T * decay_factor),
 * G' = norm_coefficient * X + G, H' = H + G'^2, X' = X - r * G' / (sqrt(H') + epsilon).
 */
import type { Kernel } from "../kernel.ts";
import { attrFloat } from "../util.ts";
import { optimizerStep } from "./optimizer_util.ts";

export const adagrad: Kernel = (inputs, attrs) => {
  const decay = attrFloat(attrs, "decay_factor", 0);
  const eps = attrFloat(attrs, "epsilon", 9.999999974752427e-7);
  const norm = attrFloat(attrs, "norm_coefficient", 0);
  return optimizerStep(inputs, 3, 2, (R, T, [x, g, h]) => {
    const r = R / (1 + T * decay);
    const gr = norm * x + g;
    const hNew = h + gr * gr;
    return [x - (r * gr) / (Math.sqrt(hNew) + eps), hNew];
  });
};
