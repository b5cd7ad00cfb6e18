/**
 * The op table: every IR op the compiler knows, listed explicitly. Each op
 * is declared whole in its own file, `compiler/ops/<op>.ts` (signature,
 * shape rule, lowering, gradient facet), which exports its `OpDef`; this
 * module imports each one and builds the frozen table `OPS`. Importing a
 * module never registers anything.
 *
 * Adding an op: write `compiler/ops/<op>.ts` (export its `OpDef`, with a
 * `grad` rule, `differentiable: false` or `noGradYet`), add it to the list
 * below, write its reference kernel `runtime/reference/kernels/<op>.ts` and
 * list it in `runtime/reference/kernels/mod.ts`, and add its tests: a shape
 * case in `shape_rules_test.ts` and, with a rule, a gradient case in
 * `compiler/grad/grad_cases.ts`. `op_facets_test.ts` fails until every
 * facet is there. An op that ONNX lacks lives in domain "dlm" (see
 * `stop_gradient.ts`) and has a `lower` rule to standard ONNX ops, which the
 * facets test checks; a kernel that exists already may serve it.
 */
import { unaryOps } from "./unary.ts";
import { binaryOps, powOp, variadicOps } from "./binary.ts";
import { scanOp } from "./scan.ts";
import { loopOp } from "./loop.ts";
import { reduceOps } from "./reduce.ts";
import { argMaxOp } from "./arg_max.ts";
import { averagePoolOp } from "./average_pool.ts";
import { batchNormalizationOp } from "./batch_normalization.ts";
import { castOp } from "./cast.ts";
import { clipOp } from "./clip.ts";
import { concatOp } from "./concat.ts";
import { constantOp } from "./constant.ts";
import { constantOfShapeOp } from "./constant_of_shape.ts";
import { convOp } from "./conv.ts";
import { convTransposeOp } from "./conv_transpose.ts";
import { cumSumOp } from "./cum_sum.ts";
import { maxRoiPoolOp, nonMaxSuppressionOp, roiAlignOp } from "./detection.ts";
import { dropoutOp } from "./dropout.ts";
import { einsumOp } from "./einsum.ts";
import { expandOp } from "./expand.ts";
import { flattenOp } from "./flatten.ts";
import { gatherOp } from "./gather.ts";
import { gatherElementsOp } from "./gather_elements.ts";
import { gemmOp } from "./gemm.ts";
import { gruOp } from "./gru.ts";
import { globalAveragePoolOp } from "./global_average_pool.ts";
import { globalMaxPoolOp } from "./global_max_pool.ts";
import { instanceNormalizationOp } from "./instance_normalization.ts";
import { layerNormalizationOp } from "./layer_normalization.ts";
import { logSoftmaxOp } from "./log_softmax.ts";
import { lstmOp } from "./lstm.ts";
import { lrnOp } from "./lrn.ts";
import { matMulOp } from "./mat_mul.ts";
import { maxPoolOp } from "./max_pool.ts";
import { oneHotOp } from "./one_hot.ts";
import { pReluOp } from "./p_relu.ts";
import { padOp } from "./pad.ts";
import { randomNormalOp, randomUniformOp } from "./random_normal.ts";
import { randomNormalLikeOp } from "./random_normal_like.ts";
import { randomUniformLikeOp } from "./random_uniform_like.ts";
import { rangeOp } from "./range.ts";
import { reshapeOp } from "./reshape.ts";
import { scatterElementsOp } from "./scatter_elements.ts";
import { resizeOp } from "./resize.ts";
import { rnnOp } from "./rnn.ts";
import { shapeOp, sizeOp } from "./shape.ts";
import { sliceOp } from "./slice.ts";
import { softmaxOp } from "./softmax.ts";
import { splitOp } from "./split.ts";
import { squeezeOp } from "./squeeze.ts";
import { stopGradientOp } from "./stop_gradient.ts";
import { tileOp } from "./tile.ts";
import { topKOp } from "./top_k.ts";
import { transposeOp } from "./transpose.ts";
import { triluOp } from "./trilu.ts";
import { unsqueezeOp } from "./unsqueeze.ts";
import { whereOp } from "./where.ts";
import { contribOps } from "./contrib/mod.ts";
import { type OpDef, opKey, testOp } from "./op_def.ts";

/** Every op, in the order the table lists them. */
const ALL: readonly OpDef[] = [
  ...unaryOps,
  ...binaryOps,
  powOp,
  ...variadicOps,
  scanOp,
  loopOp,
  ...reduceOps,
  argMaxOp,
  averagePoolOp,
  batchNormalizationOp,
  castOp,
  clipOp,
  concatOp,
  constantOp,
  constantOfShapeOp,
  convOp,
  convTransposeOp,
  cumSumOp,
  nonMaxSuppressionOp,
  roiAlignOp,
  maxRoiPoolOp,
  dropoutOp,
  einsumOp,
  expandOp,
  flattenOp,
  gatherOp,
  gatherElementsOp,
  gemmOp,
  gruOp,
  globalAveragePoolOp,
  globalMaxPoolOp,
  instanceNormalizationOp,
  layerNormalizationOp,
  logSoftmaxOp,
  lstmOp,
  lrnOp,
  matMulOp,
  maxPoolOp,
  oneHotOp,
  pReluOp,
  padOp,
  randomNormalOp,
  randomNormalLikeOp,
  randomUniformOp,
  randomUniformLikeOp,
  rangeOp,
  reshapeOp,
  scatterElementsOp,
  resizeOp,
  rnnOp,
  shapeOp,
  sizeOp,
  sliceOp,
  softmaxOp,
  splitOp,
  squeezeOp,
  stopGradientOp,
  tileOp,
  topKOp,
  transposeOp,
  triluOp,
  unsqueezeOp,
  whereOp,
  ...contribOps,
];

function buildTable(defs: readonly OpDef[]): ReadonlyMap<string, OpDef> {
  const table = new Map<string, OpDef>();
  for (const def of defs) {
    const k = opKey(def.op, def.domain);
    if (table.has(k)) throw new Error(`op ${k} is listed twice`);
    table.set(k, Object.freeze(def));
  }
  return table;
}

/** The op table, keyed as the kernel table is: "Op", or "domain::Op" outside the default domain. */
export const OPS: ReadonlyMap<string, OpDef> = buildTable(ALL);

/** The table entry of `op` in `domain` (a test op of domain "dlm.test" too), if any. */
export function getOp(op: string, domain = ""): OpDef | undefined {
  return OPS.get(opKey(op, domain)) ?? testOp(op, domain);
}

/** Every op of the table. */
export function allOps(): OpDef[] {
  return [...OPS.values()];
}
