/**
 * CumSum (opset 14): running sums along the scalar `axis` input; same
 * shape as x.
 */
import { formatType } from "../ir/graph.ts";
import type { DType } from "../ir/tensor.ts";
import { type GradContext, type OpDef, ShapeError } from "./op_def.ts";
import { gradOf } from "./grad_util.ts";
import { constInts, expectDtype, FLOAT, INDEX, input, normAxis } from "./rules.ts";
import { diag } from "../diagnostics.ts";

const CUMSUM_TYPES: readonly DType[] = ["u32", "u64", "i32", "i64", ...FLOAT];

export const cumSumOp: OpDef = {
  op: "CumSum",
  grad: cumSumGrad,
  since: 14,
  inputs: [{ name: "x" }, { name: "axis" }],
  outputs: [{ name: "y" }],
  attrs: { exclusive: { type: "int", default: 0 }, reverse: { type: "int", default: 0 } },
  infer(ctx) {
    const x = input(ctx, "CumSum", 0, "x");
    const a = input(ctx, "CumSum", 1, "axis");
    expectDtype("CumSum", "x", x, CUMSUM_TYPES);
    expectDtype("CumSum", "axis", a, INDEX);
    if (!(a.shape.length === 0 || (a.shape.length === 1 && a.shape[0] === 1))) {
      throw new ShapeError(...diag("DLM0227", "CumSum", "'axis' to be a scalar", formatType(a)));
    }
    const axis = constInts(ctx, 1)?.[0];
    if (axis !== undefined) normAxis("CumSum", axis, x.shape.length);
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
};

/**
 * y_j = sum_{i <= j} x_i (i < j when exclusive), so dx_i = sum_{j >= i} g_j
 * (j > i): the cumulative sum of g in the other direction.
 */
function cumSumGrad(c: GradContext) {
  const reverse = (c.node.attrs.reverse as number | undefined) ?? 0;
  const exclusive = (c.node.attrs.exclusive as number | undefined) ?? 0;
  return [
    gradOf(c, 0).op("CumSum", [c.node.inputs[1]], { exclusive, reverse: reverse ? 0 : 1 }).name,
    undefined,
  ];
}
