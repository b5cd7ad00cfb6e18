/**
 * com.microsoft FastGelu (onnxruntime contrib op, version 1): the tanh
 * approximation of GELU on X + bias (bias optional, 1-D over the last dim):
 *   Y = 0.5 u (1 + tanh(sqrt(2 / pi) (u + 0.044715 u^3))),  u = X + bias.
 */
import type { OpDef } from "../op_def.ts";
import { expectDtype, input, sameDtype } from "../rules.ts";
import { CONTRIB_FLOAT, expectHiddenVector, MS_DOMAIN } from "./common.ts";

export const fastGeluOp: OpDef = {
  op: "FastGelu",
  noGradYet:
    "made only by the inference fusions of compiler/passes, which training graphs never run",
  domain: MS_DOMAIN,
  since: 1,
  inputs: [{ name: "X" }, { name: "bias", optional: true }],
  outputs: [{ name: "Y" }],
  attrs: {},
  infer(ctx) {
    const x = input(ctx, "FastGelu", 0, "X");
    const bias = ctx.inputs[1];
    expectDtype("FastGelu", "X", x, CONTRIB_FLOAT);
    sameDtype("FastGelu", [["X", x], ["bias", bias]]);
    if (bias) expectHiddenVector("FastGelu", "bias", bias, "X", x);
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
};
