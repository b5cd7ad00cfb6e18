/**
 * Gather (opset 13): out = data.shape[:axis] + indices.shape + data.shape[axis+1:].
 */
import type { GradContext, OpDef } from "./registry.ts";
import { ints, needStatic, op1, scalar, zerosLike } from "./grad_util.ts";
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
  const dims = xt.shape.map((d, i) => needStatic(d, "Gather", `data dim ${i}`));
  const pre = dims.slice(0, axis).reduce((p, d) => p * d, 1);
  const post = dims.slice(axis + 1).reduce((p, d) => p * d, 1);
  const size = dims[axis];
  const itype = c.typeOf(idx).dtype;
  const flatIdx = op1(c, "Reshape", [idx, ints(c, [1, -1, 1])]);
  const positive = op1(c, "Where", [
    op1(c, "Less", [flatIdx, scalar(c, itype, 0)]),
    op1(c, "Add", [flatIdx, scalar(c, itype, size)]),
    flatIdx,
  ]);
  const g3 = op1(c, "Reshape", [c.outputGrads[0], ints(c, [pre, -1, post])]);
  const idx3 = op1(c, "Expand", [positive, op1(c, "Shape", [g3])]);
  const zeros = op1(c, "Reshape", [zerosLike(c, x), ints(c, [pre, size, post])]);
  const dx = op1(c, "ScatterElements", [zeros, idx3, g3], { axis: 1, reduction: "add" });
  return [op1(c, "Reshape", [dx, ints(c, dims)]), undefined];
}
