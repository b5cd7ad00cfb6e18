/**
 * Graph passes: small rewrites of the IR, each in its own file with the
 * algebra above it and declared under a stable name (`definePass`), the
 * matcher helpers they share (match.ts), the named pipelines they form
 * (pipelines.ts, targets.ts), and the pass manager that runs a pipeline to
 * a fixpoint (manager.ts).
 */
export {
  DEFAULT_MAX_ROUNDS,
  formatPassReport,
  newPassReport,
  passName,
  runPasses,
} from "./manager.ts";
export {
  beforeGradientsPipeline,
  forMode,
  inferencePipeline,
  insertPasses,
  trainStepPipeline,
} from "./pipelines.ts";
export type {
  Mode,
  Pass,
  PassContext,
  PassDecl,
  PassFn,
  PassReport,
  PassRun,
  Rewrite,
} from "./context.ts";
export { definePass, mergeSpans, MODES, noteRewrite } from "./context.ts";
export { removeNoops } from "./remove_noops.ts";
export { foldConstants } from "./fold_constants.ts";
export { foldBatchNorm } from "./fold_batch_norm.ts";
export { fuseGemm } from "./fuse_gemm.ts";
export { fuseGemmAccumulate } from "./fuse_gemm_accumulate.ts";
export { fullRankScalars } from "./full_rank_scalars.ts";
export { hoistConcatScales } from "./hoist_concat_scales.ts";
export { dce } from "./dce.ts";
export { cse } from "./cse.ts";
export { fuseLayerNorm } from "./fuse_layer_norm.ts";
export { trimConvTaps } from "./trim_conv_taps.ts";
export { sumAsMatmul, sumAsMatmulTuning } from "./sum_as_matmul.ts";
export { depthwiseMatrix, depthwiseMatrixTuning } from "./depthwise_matrix.ts";
export { depthwiseScale } from "./depthwise_scale.ts";
export { gatherChannelShuffle } from "./gather_channel_shuffle.ts";
export { pointwiseGemm } from "./pointwise_gemm.ts";
export { elideReshapes } from "./elide_reshapes.ts";
export { columnsLayout, columnsLayoutTuning } from "./columns_layout.ts";
export { columnsMatmul } from "./columns_matmul.ts";
export { convColumns, convColumnsTuning } from "./conv_columns.ts";
export { sinkLayout } from "./sink_layout.ts";
export { shareBatchStatistics } from "./share_batch_statistics.ts";
export { mergeReshapes } from "./merge_reshapes.ts";
export { fuseGelu } from "./fuse_gelu.ts";
export { fuseBiasGelu } from "./fuse_bias_gelu.ts";
export { fuseSkipLayerNorm } from "./fuse_skip_layer_norm.ts";
export { fuseAttention } from "./fuse_attention.ts";
export { pipelineFor, type Target, TARGET_FUSIONS, TARGETS } from "./targets.ts";
