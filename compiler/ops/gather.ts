/**
 * Gather (opset 13): out = data.shape[:axis] + indices.shape + data.shape[axis+1:].
 */
import type { GradContext, OpDef } from "./op_def.ts";
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
