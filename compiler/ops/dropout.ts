/**
 * Dropout (opset 13): output has the input's type; the optional mask output
 * is bool of the same shape. `ratio` and `training_mode` are optional scalars.
 */
import type { TensorType } from "../ir/graph.ts";
import { register } from "./registry.ts";
import { expectDtype, FLOAT, FLOAT_NO_BF16, input } from "./rules.ts";

register({
  op: "Dropout",
  since: 13,
  inputs: [
    { name: "data" },
    { name: "ratio", optional: true },
    { name: "training_mode", optional: true },
  ],
  outputs: [{ name: "output" }, { name: "mask", optional: true }],
  attrs: { seed: { type: "int" } },
  nature: ["eval-noop", "random"],
  infer(ctx) {
    const x = input(ctx, "Dropout", 0, "data");
    expectDtype("Dropout", "data", x, FLOAT);
    if (ctx.inputs[1]) expectDtype("Dropout", "ratio", ctx.inputs[1], FLOAT_NO_BF16);
    if (ctx.inputs[2]) expectDtype("Dropout", "training_mode", ctx.inputs[2], ["bool"]);
    const out: TensorType[] = [{ dtype: x.dtype, shape: [...x.shape] }];
    if ((ctx.outputCount ?? 1) > 1) out.push({ dtype: "bool", shape: [...x.shape] });
    return out;
  },
});
