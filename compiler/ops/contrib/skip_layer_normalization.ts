/**
 * com.microsoft SkipLayerNormalization (onnxruntime contrib op, version 1):
 *   s = input + skip (+ bias);  output = LayerNorm(s) over the last dim * gamma + beta
 * input is [B, S, H] (or [T, H]); skip is input's shape, [1, S, H] or [S, H];
 * gamma, beta and bias are [H]. Optional outputs: mean and inv_std_var
 * (f32, input's shape with the last dim 1) and input_skip_bias_sum (s).
 */
import { formatType, type TensorType } from "../../ir/graph.ts";
import { dimEquals } from "../dims.ts";
import { type OpDef, ShapeError } from "../op_def.ts";
import { expectDtype, input, sameDtype } from "../rules.ts";
import { CONTRIB_FLOAT, expectHiddenVector, MS_DOMAIN } from "./common.ts";
import { diag } from "../../diagnostics.ts";

const OP = "SkipLayerNormalization";

export const skipLayerNormalizationOp: OpDef = {
  op: OP,
  noGradYet:
    "made only by the inference fusions of compiler/passes, which training graphs never run",
  domain: MS_DOMAIN,
  since: 1,
  inputs: [
    { name: "input" },
    { name: "skip" },
    { name: "gamma" },
    { name: "beta", optional: true },
    { name: "bias", optional: true },
  ],
  outputs: [
    { name: "output" },
    { name: "mean", optional: true },
    { name: "inv_std_var", optional: true },
    { name: "input_skip_bias_sum", optional: true },
  ],
  attrs: { epsilon: { type: "float", default: 1e-12 } },
  infer(ctx) {
    const x = input(ctx, OP, 0, "input");
    const skip = input(ctx, OP, 1, "skip");
    const gamma = input(ctx, OP, 2, "gamma");
    const [, , , beta, bias] = ctx.inputs;
    expectDtype(OP, "input", x, CONTRIB_FLOAT);
    sameDtype(OP, [["input", x], ["skip", skip], ["gamma", gamma], ["beta", beta], [
      "bias",
      bias,
    ]]);
    const r = x.shape.length;
    if (r !== 2 && r !== 3) {
      throw new ShapeError(...diag("DLM0227", OP, "'input' to have 2 or 3 dims", formatType(x)));
    }
    if (!skipFits(skip, x)) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          OP,
          `'skip' to have the shape of 'input' ${
            formatType(x)
          }, or its last two dims (with or without a leading 1)`,
          formatType(skip),
        ),
      );
    }
    expectHiddenVector(OP, "gamma", gamma, "input", x);
    if (beta) expectHiddenVector(OP, "beta", beta, "input", x);
    if (bias) expectHiddenVector(OP, "bias", bias, "input", x);
    const stat: TensorType = { dtype: "f32", shape: [...x.shape.slice(0, -1), 1] };
    return [
      { dtype: x.dtype, shape: [...x.shape] },
      stat,
      { ...stat, shape: [...stat.shape] },
      { dtype: x.dtype, shape: [...x.shape] },
    ].slice(0, Math.max(1, ctx.outputCount ?? 1));
  },
};

/** skip: input's shape, or input's last two dims, optionally behind a leading 1. */
function skipFits(skip: TensorType, x: TensorType): boolean {
  const eq = (a: readonly (number | string)[], b: readonly (number | string)[]) =>
    a.length === b.length && a.every((d, i) => dimEquals(d, b[i]));
  if (eq(skip.shape, x.shape)) return true;
  if (x.shape.length !== 3) return false;
  const tail = x.shape.slice(1);
  return eq(skip.shape, tail) || eq(skip.shape, [1, ...tail]);
}
