/**
 * Softmax (opset 13): along `axis` (default -1); same type as the input.
 */
import type { OpDef } from "./registry.ts";
import { expectDtype, FLOAT, input, intAttr, normAxis } from "./rules.ts";
import type { GradContext } from "./registry.ts";
import { ints, op1 } from "./grad_util.ts";

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
  const y = c.node.outputs[0];
  const g = c.outputGrads[0];
  const axis = ints(c, [(c.node.attrs.axis as number | undefined) ?? -1]);
  const s = op1(c, "ReduceSum", [op1(c, "Mul", [g, y]), axis], { keepdims: 1 });
  return [op1(c, "Mul", [y, op1(c, "Sub", [g, s])])];
}
