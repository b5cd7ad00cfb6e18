/**
 * The op registry with every op the compiler knows. Importing this module
 * registers all ops (each `compiler/ops/<op>.ts` calls `register`), so use
 * `getOp`/`allOps` from here, not from `registry.ts`.
 */
import "./unary.ts";
import "./binary.ts";
import "./scan.ts";
import "./reduce.ts";
import "./arg_max.ts";
import "./average_pool.ts";
import "./batch_normalization.ts";
import "./cast.ts";
import "./clip.ts";
import "./concat.ts";
import "./constant.ts";
import "./constant_of_shape.ts";
import "./conv.ts";
import "./conv_transpose.ts";
import "./cum_sum.ts";
import "./detection.ts";
import "./dropout.ts";
import "./einsum.ts";
import "./expand.ts";
import "./flatten.ts";
import "./gather.ts";
import "./gather_elements.ts";
import "./gemm.ts";
import "./gru.ts";
import "./global_average_pool.ts";
import "./global_max_pool.ts";
import "./instance_normalization.ts";
import "./layer_normalization.ts";
import "./log_softmax.ts";
import "./lstm.ts";
import "./lrn.ts";
import "./mat_mul.ts";
import "./max_pool.ts";
import "./one_hot.ts";
import "./p_relu.ts";
import "./pad.ts";
import "./random_normal_like.ts";
import "./random_uniform_like.ts";
import "./range.ts";
import "./reshape.ts";
import "./scatter_elements.ts";
import "./resize.ts";
import "./rnn.ts";
import "./shape.ts";
import "./slice.ts";
import "./softmax.ts";
import "./split.ts";
import "./squeeze.ts";
import "./tile.ts";
import "./top_k.ts";
import "./transpose.ts";
import "./trilu.ts";
import "./unsqueeze.ts";
import "./where.ts";
import "./contrib/mod.ts";

export { allOps, getOp, register, ShapeError, withDefaults } from "./registry.ts";
export type {
  AttrSpec,
  AttrType,
  GradRule,
  InferContext,
  OpDef,
  OpNature,
  PortSpec,
} from "./registry.ts";
export {
  broadcastShapes,
  canonicalDim,
  convOutDim,
  dimAdd,
  dimDiv,
  dimEquals,
  dimMax,
  dimMul,
  dimProduct,
  dimSub,
  formatShape,
} from "./dims.ts";
export { broadcastTypes, freshDim, resetFreshDims } from "./rules.ts";
export { lowerReduceAxes } from "./reduce.ts";
export { einsumShape } from "./einsum.ts";
export { sliceLength } from "./slice.ts";

/** Opsets the ONNX emitter can target; the IR itself follows opset 17. */
export const SUPPORTED_OPSETS: readonly number[] = [17, 18, 19, 20, 21];

/**
 * Nodes for `node` at the target opset: the op's `lower` when it has one
 * (the op changed form after opset 17), else the node unchanged.
 */
export { lowerNode } from "./lower.ts";
