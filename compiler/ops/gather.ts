/**
 * Gather (opset 13): out = data.shape[:axis] + indices.shape + data.shape[axis+1:].
 */
import type { GradContext, OpDef } from "./op_def.ts";
import type { Dim } from "../ir/graph.ts";
import { type Tensor, tensor, toNumbers } from "../ir/tensor.ts";
import { gradOf, needStatic, zerosLike } from "./grad_util.ts";
import { expectDtype, expectRank, INDEX, input, intAttr, normAxis } from "./rules.ts";

export const gatherOp: OpDef = {
  op: "Gather",
  grad: gatherGrad,
  since: 13,
  inputs: [{ name: "data" }, { name: "indices" }],
  outputs: [{ name: "output" }],
  attrs: { axis: { type: "int", default: 0 } },
  infer(ctx) {
    const x = input(ctx, "Gather", 0, "data");
    const idx = input(ctx, "Gather", 1, "indices");
    expectRank("Gather", "data", x, 1, true);
    expectDtype("Gather", "indices", idx, INDEX);
    const axis = normAxis("Gather", intAttr(ctx.attrs, "axis"), x.shape.length);
    return [{
      dtype: x.dtype,
      shape: [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)],
    }];
  },
};

/**
 * The adjoint of a gather is a scatter-add: with data viewed as
 * [pre, D, post] (D the gathered axis) and the indices flattened to M,
 * the gradient g viewed as [pre, M, post] is added into zeros at index
 * idx[m] along axis 1. Repeated indices accumulate (an embedding row used
 * twice gets both gradients). Negative indices are first made positive.
 */
function gatherGrad(c: GradContext) {
  const [x, idx] = c.node.inputs;
  const xt = c.inputTypes[0]!;
  const rank = xt.shape.length;
  const a = (c.node.attrs.axis as number | undefined) ?? 0;
  const axis = a < 0 ? a + rank : a;
  const inverse = inversePermutation(c.constantOf(idx), xt.shape[axis]);
  if (inverse) {
    // A constant permutation p of the D entries along the axis (a channel shuffle,
    // compiler/passes/gather_channel_shuffle.ts): out[.., j, ..] = x[.., p[j], ..] takes each
    // entry once, so dx[.., i, ..] = g[.., q[i], ..] with q = p^-1: one Gather, and exact.
    const q = c.e.constant(tensor("i64", [inverse.length], inverse));
    return [gradOf(c, 0).op("Gather", [q], { axis }).name, undefined];
  }
  const dims = xt.shape.map((d, i) => needStatic(d, "Gather", `data dim ${i}`));
  const pre = dims.slice(0, axis).reduce((p, d) => p * d, 1);
  const post = dims.slice(axis + 1).reduce((p, d) => p * d, 1);
  const size = dims[axis];
  const flatIdx = c.e.v(idx).reshape([1, -1, 1]);
  const positive = flatIdx.less(0).where(flatIdx.add(size), flatIdx);
  const g3 = gradOf(c, 0).reshape([pre, -1, post]);
  const idx3 = positive.expand(g3.shape());
  const zeros = zerosLike(c, x).reshape([pre, size, post]);
  const dx = zeros.op("ScatterElements", [idx3, g3], { axis: 1, reduction: "add" });
  return [dx.reshape(dims).name, undefined];
}

/** q with q[p[j]] = j when `t` is a 1-D permutation p of 0..size-1 (negative entries from the end). */
function inversePermutation(t: Tensor | undefined, size: Dim): number[] | undefined {
  if (!t || t.shape.length !== 1 || typeof size !== "number" || t.shape[0] !== size) return;
  const q = new Array<number>(size).fill(-1);
  for (const [j, v] of toNumbers(t).entries()) {
    const i = v < 0 ? v + size : v;
    if (!Number.isInteger(i) || i < 0 || i >= size || q[i] !== -1) return;
    q[i] = j;
  }
  return q;
}
