/**
 * LogSoftmax (opset 13): along `axis` (default -1); same type as the input.
 */
import { register } from "./registry.ts";
import { expectDtype, FLOAT, input, intAttr, normAxis } from "./rules.ts";

register({
  op: "LogSoftmax",
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
});
