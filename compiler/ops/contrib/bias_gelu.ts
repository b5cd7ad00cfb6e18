/**
 * com.microsoft BiasGelu (onnxruntime contrib op, version 1): the exact
 * GELU of A + B, with B 1-D over the last dim of A:
 *   C = 0.5 (A + B) (1 + erf((A + B) / sqrt 2)).
 */
import type { OpDef } from "../op_def.ts";
import { expectDtype, input, sameDtype } from "../rules.ts";
import { CONTRIB_FLOAT, expectHiddenVector, MS_DOMAIN } from "./common.ts";

export const biasGeluOp: OpDef = {
  op: "BiasGelu",
  noGradYet:
    "made only by the inference fusions of compiler/passes, which training graphs never run",
  domain: MS_DOMAIN,
  since: 1,
  inputs: [{ name: "A" }, { name: "B" }],
  outputs: [{ name: "C" }],
  attrs: {},
  infer(ctx) {
    const a = input(ctx, "BiasGelu", 0, "A");
    const b = input(ctx, "BiasGelu", 1, "B");
    expectDtype("BiasGelu", "A", a, CONTRIB_FLOAT);
    sameDtype("BiasGelu", [["A", a], ["B", b]]);
    expectHiddenVector("BiasGelu", "B", b, "A", a);
    return [{ dtype: a.dtype, shape: [...a.shape] }];
  },
};
