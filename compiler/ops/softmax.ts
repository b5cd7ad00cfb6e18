/**
 * Softmax (opset 13): along `axis` (default -1); same type as the input.
 */
import { register } from "./registry.ts";
import { expectDtype, FLOAT, input, intAttr, normAxis } from "./rules.ts";

register({
  op: "Softmax",
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
});
