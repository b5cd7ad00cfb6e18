/**
 * The ops layer's public face: the op table (`OPS`, `getOp`, `allOps`, from
 * `table.ts`), the contract each op meets (`op_def.ts`), the shape
 * helpers, the lowering to a target opset, and what reads the table to
 * interpret a graph: `GraphBuilder` (shape inference), `verifyGraph` and
 * `printGraph`. See `table.ts` for how to add an op.
 */
export { allOps, getOp, OPS } from "./table.ts";
export { opKey, ShapeError, withDefaults } from "./op_def.ts";
export type {
  AttrSpec,
  AttrType,
  GradRule,
  InferContext,
  OpDef,
  OpNature,
  PortSpec,
} from "./op_def.ts";
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

export { GraphBuilder } from "./builder.ts";
export { assertValid, verifyGraph } from "./verify.ts";
export { printGraph } from "./print_graph.ts";
