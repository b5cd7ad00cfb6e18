/**
 * com.microsoft Gelu (onnxruntime contrib op, version 1): the exact GELU,
 * Y = 0.5 X (1 + erf(X / sqrt 2)), elementwise; same type as X.
 */
import type { OpDef } from "../op_def.ts";
import { expectDtype, input } from "../rules.ts";
import { CONTRIB_FLOAT, MS_DOMAIN } from "./common.ts";

export const geluOp: OpDef = {
  op: "Gelu",
  noGradYet:
    "made only by the inference fusions of compiler/passes, which training graphs never run",
  domain: MS_DOMAIN,
  since: 1,
  inputs: [{ name: "X" }],
  outputs: [{ name: "Y" }],
  attrs: {},
  infer(ctx) {
    const x = input(ctx, "Gelu", 0, "X");
    expectDtype("Gelu", "X", x, CONTRIB_FLOAT);
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
};
