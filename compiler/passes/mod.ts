/**
 * Graph passes: small rewrites of the IR, each in its own file with the
 * algebra above it, and the pass manager that runs them to a fixpoint.
 */
export {
  DEFAULT_MAX_ROUNDS,
  formatPassReport,
  inferencePipeline,
  newPassReport,
  passName,
  runPasses,
} from "./manager.ts";
export type { Pass, PassContext, PassReport, PassRun, Rewrite } from "./context.ts";
export { mergeSpans, noteRewrite } from "./context.ts";
export { removeNoops } from "./remove_noops.ts";
export { foldConstants } from "./fold_constants.ts";
export { foldBatchNorm } from "./fold_batch_norm.ts";
export { fuseGemm } from "./fuse_gemm.ts";
export { dce } from "./dce.ts";
export { cse } from "./cse.ts";
export { fuseLayerNorm } from "./fuse_layer_norm.ts";
export { trimConvTaps } from "./trim_conv_taps.ts";
export { fuseGelu } from "./fuse_gelu.ts";
export { fuseBiasGelu } from "./fuse_bias_gelu.ts";
export { fuseSkipLayerNorm } from "./fuse_skip_layer_norm.ts";
export { fuseAttention } from "./fuse_attention.ts";
export { pipelineFor, type Target, TARGETS } from "./targets.ts";
