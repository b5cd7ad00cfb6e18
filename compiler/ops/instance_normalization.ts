/**
 * InstanceNormalization (opset 6): input (N, C, D1..Dn) normalised per
 * sample and channel, then scaled by `scale` (C) and shifted by `B` (C).
 */
import { formatType } from "../ir/graph.ts";
import { register, ShapeError } from "./registry.ts";
import { expectDtype, expectRank, FLOAT_NO_BF16, input, sameDtype } from "./rules.ts";

register({
  op: "InstanceNormalization",
  since: 6,
  inputs: [{ name: "input" }, { name: "scale" }, { name: "B" }],
  outputs: [{ name: "output" }],
  attrs: { epsilon: { type: "float", default: 1e-5 } },
  infer(ctx) {
    const op = "InstanceNormalization";
    const x = input(ctx, op, 0, "input");
    const scale = input(ctx, op, 1, "scale");
    const b = input(ctx, op, 2, "B");
    expectDtype(op, "input", x, FLOAT_NO_BF16);
    sameDtype(op, [["input", x], ["scale", scale], ["B", b]]);
    expectRank(op, "input", x, 3, true);
    const c = x.shape[1];
    for (const [port, t] of [["scale", scale], ["B", b]] as const) {
      const d = t.shape[0];
      if (t.shape.length !== 1 || (typeof c === "number" && typeof d === "number" && c !== d)) {
        throw new ShapeError(
          `${op} expects '${port}' of shape [${c}] for input ${formatType(x)}, found ${
            formatType(t)
          }`,
        );
      }
    }
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
});
