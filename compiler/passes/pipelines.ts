/**
 * The pass pipelines by name: ordered lists of declared passes (each
 * `definePass`d in its own file), filtered to the passes that run in the
 * mode at hand. Other lists are built from these by inserting passes before
 * a named one (targets.ts inserts the fusions before "fold_constants").
 */
import type { Mode, Pass } from "./context.ts";
import { columnsLayout } from "./columns_layout.ts";
import { columnsMatmul } from "./columns_matmul.ts";
import { convColumns } from "./conv_columns.ts";
import { cse } from "./cse.ts";
import { dce } from "./dce.ts";
import { depthwiseMatrix } from "./depthwise_matrix.ts";
import { depthwiseScale } from "./depthwise_scale.ts";
import { elideReshapes } from "./elide_reshapes.ts";
import { gatherChannelShuffle } from "./gather_channel_shuffle.ts";
import { hoistConcatScales } from "./hoist_concat_scales.ts";
import { foldBatchNorm } from "./fold_batch_norm.ts";
import { foldConstants } from "./fold_constants.ts";
import { mergeReshapes } from "./merge_reshapes.ts";
import { pointwiseGemm } from "./pointwise_gemm.ts";
import { fuseGemm } from "./fuse_gemm.ts";
import { fuseGemmAccumulate } from "./fuse_gemm_accumulate.ts";
import { fullRankScalars } from "./full_rank_scalars.ts";
import { removeNoops } from "./remove_noops.ts";
import { shareBatchStatistics } from "./share_batch_statistics.ts";
import { sinkLayout } from "./sink_layout.ts";
import { sumAsMatmul } from "./sum_as_matmul.ts";
import { trimConvTaps } from "./trim_conv_taps.ts";

/**
 * The inference pipeline, both modes. Order: no-ops go first (they hide
 * patterns: an `Identity` between a conv and its batch norm), then the
 * fusions (batch norm before Gemm, so the bias Add a folded MatMul gets can
 * become a Gemm; both before constant folding, so a `Transpose` of a weight
 * is absorbed as `transB` and the weight keeps its name instead of being
 * folded into a transposed copy), then trimming convolution taps that read
 * only padding (before constant folding, which folds a constant weight's
 * Slice), then constant folding, and dead-code elimination last to sweep
 * what they left. The fixpoint loop takes care of what one pass enables for
 * an earlier one.
 */
const INFERENCE: readonly Pass[] = [
  removeNoops,
  cse,
  foldBatchNorm,
  fuseGemm,
  trimConvTaps,
  foldConstants,
  dce,
];

/** The passes of `pipeline` that run in `mode`, in order. */
export function forMode(pipeline: readonly Pass[], mode: Mode): Pass[] {
  return pipeline.filter((p) => p.modes.includes(mode));
}

/**
 * The default inference pipeline for `mode`. Train mode skips the
 * batch-norm fold (batch norm then uses batch statistics), which declares
 * that it runs in eval mode only.
 *
 * @example
 * ```ts
 * runPasses(graph, inferencePipeline("eval"), { mode: "eval" });
 * ```
 */
export function inferencePipeline(mode: Mode): Pass[] {
  return forMode(INFERENCE, mode);
}

/**
 * `pipeline` with `passes` inserted, in order, just before the pass named
 * `where.before`. A name no pass of `pipeline` has is an internal error
 * (an insertion point is part of the pipeline's design, never optional).
 *
 * @example
 * ```ts
 * insertPasses(inferencePipeline("eval"), [fuseLayerNorm], { before: "fold_constants" });
 * ```
 */
export function insertPasses(
  pipeline: readonly Pass[],
  passes: readonly Pass[],
  where: { before: string },
): Pass[] {
  const at = pipeline.findIndex((p) => p.id === where.before);
  if (at < 0) {
    const names = pipeline.map((p) => p.id).join(", ");
    throw new Error(`internal: no pass '${where.before}' to insert before in [${names}]`);
  }
  return [...pipeline.slice(0, at), ...passes, ...pipeline.slice(at)];
}

/**
 * A training step, before its gradients are built: the rewrites whose result
 * the gradients should see (the trimmed convolutions are what gets
 * differentiated, and a depthwise one trimmed to one tap is a per-channel
 * scale, one on small maps a batched MatMul by per-channel matrices; a channel
 * shuffle is one Gather, whose gradient is one Gather; a 1x1 convolution on 1x1 maps
 * is a Gemm, after trimming, and the elementwise ops between two such, as a
 * squeeze-and-excitation's SiLU, run on the Gemm's [N, C] with no Reshape around them).
 * Run with `{ mode: "train", keepParams: true }`.
 */
export function beforeGradientsPipeline(): Pass[] {
  return [
    trimConvTaps,
    depthwiseScale,
    depthwiseMatrix,
    gatherChannelShuffle,
    pointwiseGemm,
    elideReshapes,
  ];
}

/**
 * A training step once it is built (forward, gradients, optimiser updates):
 * the batch norms read statistics shared with their gradients (a step's
 * builder has split them already, with PyTorch's running variance:
 * compiler/train/batch_norm_state.ts; share_batch_statistics is there for a
 * train-mode node left in a graph, by ONNX's rule), chains of
 * reshapes that the gradient rules and parameter packs leave are merged,
 * convolutions on small maps become Gemms over the columns their weight gradients
 * read (conv_columns; before cse, which then builds those columns once), an
 * elementwise op of two operands transposed or reshaped alike runs before that
 * layout node (sink_layout: a residual block's two gradient branches off the columns),
 * then the train-mode inference pipeline, with momentum sums folded into the
 * Gemms of their gradients (fuse_gemm_accumulate) and sums over leading axes (bias and layer
 * norm gradients) as MatMuls by a row of ones (sum_as_matmul) before constant folding, cleans up (cse merges those
 * statistics, dce the reshapes no longer read); after cse (whose merged copies it then
 * counts once) and before constant folding, the batch norms, ReLUs, residual adds and their
 * gradients between columns convolutions run in the columns layout, with Transposes only
 * at a region's edges (columns_layout), a 1x1 convolution there a MatMul of its weight by
 * the twin it reads (columns_matmul), and a pack's gradient is the Concat of its members'
 * gradients times one vector of their scalings (hoist_concat_scales: a batch norm's two
 * parameter gradients are means times the count, after cse has made the counts' shared factor
 * one value); last, before dce, the scalar operands of elementwise
 * ops over tensors with a dim of 1 take the tensors' rank (full_rank_scalars: onnxruntime
 * broadcasts a lower-rank scalar over such a tensor in spans of the dims after that 1).
 * Run with `{ mode: "train", keepParams: true }`.
 */
export function trainStepPipeline(): Pass[] {
  return [
    shareBatchStatistics,
    mergeReshapes,
    convColumns,
    sinkLayout,
    ...insertPasses(
      insertPasses(
        inferencePipeline("train"),
        [columnsLayout, columnsMatmul, fuseGemmAccumulate, sumAsMatmul, hoistConcatScales],
        { before: "fold_constants" },
      ),
      [fullRankScalars],
      { before: "dce" },
    ),
  ];
}
