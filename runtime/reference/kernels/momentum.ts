/**
 * Momentum (ai.onnx.preview.training): G' = norm_coefficient * X + G,
 * V' = alpha V + (T > 0 ? beta : 1) G'; standard: X' = X - R V';
 * nesterov: X' = X - R (G' + alpha V').
 */
import type { Kernel } from "../kernel.ts";
import { attrFloat, attrString, kernelFailIf } from "../util.ts";
import { optimizerStep } from "./optimizer_util.ts";

export const momentum: Kernel = (inputs, attrs) => {
  const alpha = attrFloat(attrs, "alpha", NaN), beta = attrFloat(attrs, "beta", NaN);
  const norm = attrFloat(attrs, "norm_coefficient", NaN);
  const mode = attrString(attrs, "mode", "");
  kernelFailIf(
    Number.isNaN(alpha) || Number.isNaN(beta) || Number.isNaN(norm),
    "Momentum requires the attributes alpha, beta and norm_coefficient",
  );
  kernelFailIf(mode !== "standard" && mode !== "nesterov", `Unknown momentum mode "${mode}"`);
  return optimizerStep(inputs, 3, 2, (R, T, [x, g, v]) => {
    const gr = norm * x + g;
    const vNew = alpha * v + (T > 0 ? beta : 1) * gr;
    return [mode === "nesterov" ? x - R * (gr + alpha * vNew) : x - R * vNew, vNew];
  });
};
