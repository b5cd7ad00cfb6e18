/**
 * GlobalMaxPool (opset 1): X (N, C, D1..Dn) -> (N, C, 1, ..., 1), a
 * max over all spatial positions.
 */
import { register } from "./registry.ts";
import { expectDtype, expectRank, FLOAT_NO_BF16, input } from "./rules.ts";

register({
  op: "GlobalMaxPool",
  since: 1,
  inputs: [{ name: "X" }],
  outputs: [{ name: "Y" }],
  attrs: {},
  infer(ctx) {
    const x = input(ctx, "GlobalMaxPool", 0, "X");
    expectDtype("GlobalMaxPool", "X", x, FLOAT_NO_BF16);
    expectRank("GlobalMaxPool", "X", x, 3, true);
    return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] }];
  },
});
