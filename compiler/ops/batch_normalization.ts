/**
 * BatchNormalization (opset 15): X (N, C, D1..Dn) normalised per channel
 * with scale, B, input_mean and input_var, all of shape (C). In training
 * mode it also outputs the updated running_mean and running_var (C).
 */
import { formatType, type TensorType } from "../ir/graph.ts";
import { register, ShapeError } from "./registry.ts";
import { dimEquals } from "./dims.ts";
import { expectDtype, expectRank, FLOAT, input, sameDtype } from "./rules.ts";

const PORTS = ["X", "scale", "B", "input_mean", "input_var"];

register({
  op: "BatchNormalization",
  since: 15,
  inputs: PORTS.map((name) => ({ name })),
  outputs: [
    { name: "Y" },
    { name: "running_mean", optional: true },
    { name: "running_var", optional: true },
  ],
  attrs: {
    epsilon: { type: "float", default: 1e-5 },
    momentum: { type: "float", default: 0.9 },
    training_mode: { type: "int", default: 0 },
  },
  infer(ctx) {
    const ts = PORTS.map((p, i) => input(ctx, "BatchNormalization", i, p));
    const [x, scale, bias, mean, variance] = ts;
    expectDtype("BatchNormalization", "X", x, FLOAT);
    expectRank("BatchNormalization", "X", x, 2, true);
    for (const [i, t] of ts.entries()) {
      if (i > 0) expectDtype("BatchNormalization", PORTS[i], t, FLOAT);
    }
    sameDtype("BatchNormalization", [["scale", scale], ["B", bias]]);
    const statsType = sameDtype("BatchNormalization", [["input_mean", mean], [
      "input_var",
      variance,
    ]]);
    const c = x.shape[1];
    for (const [i, t] of ts.entries()) {
      if (i === 0) continue;
      if (
        t.shape.length !== 1 ||
        (typeof c === "number" && typeof t.shape[0] === "number" && !dimEquals(c, t.shape[0]))
      ) {
        throw new ShapeError(
          `BatchNormalization expects '${PORTS[i]}' of shape [${c}] for input ${
            formatType(x)
          }, found ${formatType(t)}`,
        );
      }
    }
    const stat: TensorType = { dtype: statsType, shape: [c] };
    const out: TensorType[] = [{ dtype: x.dtype, shape: [...x.shape] }];
    if (ctx.attrs.training_mode === 1) out.push(stat, { ...stat, shape: [c] });
    return out;
  },
});
