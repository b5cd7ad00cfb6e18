/**
 * GlobalMaxPool (opset 1): X (N, C, D1..Dn) -> (N, C, 1, ..., 1), a
 * max over all spatial positions.
 */
import type { GradContext, OpDef } from "./op_def.ts";
import { expandTo, gradOf, inputOf } from "./grad_util.ts";

import { expectDtype, expectRank, FLOAT_NO_BF16, input } from "./rules.ts";

export const globalMaxPoolOp: OpDef = {
  op: "GlobalMaxPool",
  grad: globalMaxPoolGrad,
  since: 1,
  inputs: [{ name: "X" }],
  outputs: [{ name: "Y" }],
  attrs: {},
  infer(ctx) {
    const x = input(ctx, "GlobalMaxPool", 0, "X");
    expectDtype("GlobalMaxPool", "X", x, FLOAT_NO_BF16);
    expectRank("GlobalMaxPool", "X", x, 3, true);
    return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] }];
  },
};

/** As ReduceMax over the spatial axes: g is shared evenly by the elements equal to the maximum. */
function globalMaxPoolGrad(c: GradContext) {
  const x = inputOf(c, 0);
  const xt = c.inputTypes[0]!;
  const axes = c.e.ints(xt.shape.slice(2).map((_, i) => i + 2));
  const ones = x.equal(c.node.outputs[0]).cast(xt.dtype);
  const count = ones.sum(axes, true);
  const g = gradOf(c, 0).div(count);
  return [expandTo(c, g, x).mul(ones).name];
}
