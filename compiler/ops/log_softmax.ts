/**
 * LogSoftmax (opset 13): along `axis` (default -1); same type as the input.
 */
import type { OpDef } from "./registry.ts";
import { expectDtype, FLOAT, input, intAttr, normAxis } from "./rules.ts";
import type { GradContext } from "./registry.ts";
import { ints, op1 } from "./grad_util.ts";

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
  const g = c.outputGrads[0];
  const axis = ints(c, [(c.node.attrs.axis as number | undefined) ?? -1]);
  const s = op1(c, "ReduceSum", [g, axis], { keepdims: 1 });
  return [op1(c, "Sub", [g, op1(c, "Mul", [op1(c, "Exp", [c.node.outputs[0]]), s])])];
}
