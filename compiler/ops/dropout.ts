/**
 * Dropout (opset 13): output has the input's type; the optional mask output
 * is bool of the same shape. `ratio` and `training_mode` are optional scalars.
 */
import type { TensorType } from "../ir/graph.ts";
import type { OpDef } from "./op_def.ts";
import { expectDtype, FLOAT, FLOAT_NO_BF16, input } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { gradOf, maskWhere } from "./grad_util.ts";

export const dropoutOp: OpDef = {
  op: "Dropout",
  grad: dropoutGrad,
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
};

/**
 * Eval mode (no or false training_mode) is the identity. Train mode:
 * y = x mask / (1 - ratio), so dx = g mask / (1 - ratio), which needs the
 * mask output (a fresh mask would be a different draw). A training_mode
 * known only at run time scales by Where(training_mode, 1 / (1 - ratio), 1).
 */
function dropoutGrad(c: GradContext) {
  const [, ratio, training] = c.node.inputs;
  const known = training ? c.constantOf(training) : undefined;
  if (!training || (known && !known.data[0])) return [c.outputGrads[0]];
  const e = c.e;
  const mask = c.node.outputs[1];
  if (!mask) throw new Error("Dropout in training mode needs its mask output for a gradient");
  const dtype = c.outputTypes[0].dtype;
  let r = ratio ? e.v(ratio) : e.scalar(0.5, dtype);
  if (ratio && r.dtype !== dtype) r = r.cast(dtype);
  // dx = g mask / (1 - ratio) (or g where training is false at run time)
  const one = e.scalar(1, dtype);
  let scale = one.div(one.sub(r));
  if (!known) scale = e.where(training, scale, one);
  return [maskWhere(c, mask, gradOf(c, 0)).mul(scale).name];
}
