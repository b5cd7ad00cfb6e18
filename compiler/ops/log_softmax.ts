/**
 * LogSoftmax (opset 13): along `axis` (default -1); same type as the input.
 */
import type { OpDef } from "./op_def.ts";
import { expectDtype, FLOAT, input, intAttr, normAxis } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { gradOf, outputOf } from "./grad_util.ts";

export const logSoftmaxOp: OpDef = {
  op: "LogSoftmax",
  grad: logSoftmaxGrad,
  since: 13,
  inputs: [{ name: "input" }],
  outputs: [{ name: "output" }],
  attrs: { axis: { type: "int", default: -1 } },
  infer(ctx) {
    const x = input(ctx, "LogSoftmax", 0, "input");
    expectDtype("LogSoftmax", "input", x, FLOAT);
    normAxis("LogSoftmax", intAttr(ctx.attrs, "axis", -1), Math.max(x.shape.length, 1));
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
};

/** y = log_softmax(x) along axis: dx = g - exp(y) sum(g). */
function logSoftmaxGrad(c: GradContext) {
  const g = gradOf(c, 0);
  const axis = c.e.ints([(c.node.attrs.axis as number | undefined) ?? -1]);
  const s = g.sum(axis, true);
  return [g.sub(outputOf(c, 0).exp().mul(s)).name];
}
