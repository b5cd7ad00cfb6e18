/**
 * GlobalAveragePool (opset 1): X (N, C, D1..Dn) -> (N, C, 1, ..., 1), a
 * average over all spatial positions.
 */
import type { OpDef } from "./op_def.ts";
import { expectDtype, expectRank, FLOAT_NO_BF16, input } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { expandTo, gradOf, needStatic } from "./grad_util.ts";

export const globalAveragePoolOp: OpDef = {
  op: "GlobalAveragePool",
  grad: globalAveragePoolGrad,
  since: 1,
  inputs: [{ name: "X" }],
  outputs: [{ name: "Y" }],
  attrs: {},
  infer(ctx) {
    const x = input(ctx, "GlobalAveragePool", 0, "X");
    expectDtype("GlobalAveragePool", "X", x, FLOAT_NO_BF16);
    expectRank("GlobalAveragePool", "X", x, 3, true);
    return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] }];
  },
};

/** Each input element contributes 1 / (spatial size) to its channel's mean. */
function globalAveragePoolGrad(c: GradContext) {
  const x = c.inputTypes[0]!;
  const n = x.shape.slice(2).reduce<number>(
    (p, d, i) => p * needStatic(d, "GlobalAveragePool", `spatial dim ${i}`),
    1,
  );
  const g = gradOf(c, 0).mul(1 / n);
  return [expandTo(c, g, c.node.inputs[0]).name];
}
