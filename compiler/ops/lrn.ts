/**
 * LRN (opset 13): local response normalisation across channels of
 * X (N, C, D1..Dn), over a window of `size` channels; same shape.
 */
import { register, ShapeError } from "./registry.ts";
import { expectDtype, expectRank, FLOAT, input, intAttr } from "./rules.ts";

register({
  op: "LRN",
  since: 13,
  inputs: [{ name: "X" }],
  outputs: [{ name: "Y" }],
  attrs: {
    alpha: { type: "float", default: 1e-4 },
    beta: { type: "float", default: 0.75 },
    bias: { type: "float", default: 1.0 },
    size: { type: "int", required: true },
  },
  infer(ctx) {
    const x = input(ctx, "LRN", 0, "X");
    expectDtype("LRN", "X", x, FLOAT);
    expectRank("LRN", "X", x, 3, true);
    const size = intAttr(ctx.attrs, "size");
    if (size < 1) throw new ShapeError(`LRN expects size >= 1, found ${size}`);
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
});
