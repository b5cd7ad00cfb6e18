/**
 * Softmax (opset 13): along `axis` (default -1); same type as the input.
 */
import type { OpDef } from "./op_def.ts";
import { expectDtype, FLOAT, input, intAttr, normAxis } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { gradOf, outputOf } from "./grad_util.ts";

export const softmaxOp: OpDef = {
  op: "Softmax",
  grad: softmaxGrad,
  since: 13,
  inputs: [{ name: "input" }],
  outputs: [{ name: "output" }],
  attrs: { axis: { type: "int", default: -1 } },
  infer(ctx) {
    const x = input(ctx, "Softmax", 0, "input");
    expectDtype("Softmax", "input", x, FLOAT);
    normAxis("Softmax", intAttr(ctx.attrs, "axis", -1), Math.max(x.shape.length, 1));
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
};

/** y = softmax(x) along axis: dx = y (g - sum(g y)). */
function softmaxGrad(c: GradContext) {
  const y = outputOf(c, 0);
  const g = gradOf(c, 0);
  const axis = c.e.ints([(c.node.attrs.axis as number | undefined) ?? -1]);
  const s = g.mul(y).sum(axis, true);
  return [y.mul(g.sub(s)).name];
}
