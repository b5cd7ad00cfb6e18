/**
 * Target profiles: which fusions a compiled model may use. "onnx" keeps to
 * standard ONNX operators (any runtime); "ort" also uses onnxruntime's
 * com.microsoft contrib operators for Transformers.
 */
import type { Pass } from "./context.ts";
import { inferencePipeline } from "./manager.ts";
import { fuseAttention } from "./fuse_attention.ts";
import { fuseBiasGelu } from "./fuse_bias_gelu.ts";
import { fuseGelu } from "./fuse_gelu.ts";
import { fuseLayerNorm } from "./fuse_layer_norm.ts";
import { fuseSkipLayerNorm } from "./fuse_skip_layer_norm.ts";

/** A runtime family a model is compiled for. */
export type Target = "onnx" | "ort";

/** Every target, the default first. */
export const TARGETS: readonly Target[] = ["onnx", "ort"];

/**
 * The inference pipeline for `target`: `inferencePipeline(mode)` with the
 * Transformer fusions inserted before constant folding (which could
 * otherwise fold a pattern's constants out of shape) and dead-code
 * elimination. Order: layer norm before skip-layer-norm (which needs the
 * LayerNormalization), gelu before bias-gelu; the fixpoint loop does the rest.
 *
 * @example
 * ```ts
 * runPasses(graph, pipelineFor("ort", "eval"), { mode: "eval" });
 * ```
 */
export function pipelineFor(target: Target, mode: "eval" | "train"): Pass[] {
  const base = inferencePipeline(mode);
  const fusions: Pass[] = target === "ort"
    ? [fuseLayerNorm, fuseSkipLayerNorm, fuseGelu, fuseBiasGelu, fuseAttention]
    : [fuseLayerNorm];
  const at = base.findIndex((p) => p.name === "foldConstants");
  const i = at < 0 ? base.length : at;
  return [...base.slice(0, i), ...fusions, ...base.slice(i)];
}
