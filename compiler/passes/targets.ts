/**
 * Target profiles: which fusions a compiled model may use. "onnx" keeps to
 * standard ONNX operators (any runtime); "ort" also uses onnxruntime's
 * com.microsoft contrib operators for Transformers.
 */
import type { Mode, Pass } from "./context.ts";
import { forMode, inferencePipeline, insertPasses } from "./pipelines.ts";
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
 * The fusions each target allows. Order: layer norm before skip-layer-norm
 * (which needs the LayerNormalization), gelu before bias-gelu; the fixpoint
 * loop does the rest.
 */
export const TARGET_FUSIONS: Readonly<Record<Target, readonly Pass[]>> = {
  onnx: [fuseLayerNorm],
  ort: [fuseLayerNorm, fuseSkipLayerNorm, fuseGelu, fuseBiasGelu, fuseAttention],
};

/**
 * The inference pipeline for `target`: `inferencePipeline(mode)` with the
 * target's fusions inserted before "fold_constants" (which could otherwise
 * fold a pattern's constants out of shape), and so before dead-code
 * elimination.
 *
 * @example
 * ```ts
 * runPasses(graph, pipelineFor("ort", "eval"), { mode: "eval" });
 * ```
 */
export function pipelineFor(target: Target, mode: Mode): Pass[] {
  return insertPasses(inferencePipeline(mode), forMode(TARGET_FUSIONS[target], mode), {
    before: "fold_constants",
  });
}
