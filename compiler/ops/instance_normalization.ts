/**
 * InstanceNormalization (opset 6): input (N, C, D1..Dn) normalised per
 * sample and channel, then scaled by `scale` (C) and shifted by `B` (C).
 */
import { formatType } from "../ir/graph.ts";
import { type GradContext, type OpDef, ShapeError } from "./op_def.ts";
import { gradOf, inputOf, normalizeGrad } from "./grad_util.ts";
import { expectDtype, expectRank, FLOAT_NO_BF16, input, sameDtype } from "./rules.ts";
import { diag } from "../diagnostics.ts";

export const instanceNormalizationOp: OpDef = {
  op: "InstanceNormalization",
  grad: instanceNormGrad,
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
          ...diag(
            "DLM0227",
            op,
            `'${port}' of shape [${c}] for input ${formatType(x)}`,
            formatType(t),
          ),
        );
      }
    }
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
};

/**
 * Each (n, c) plane is normalised on its own: the normalisation backward
 * pass over the spatial axes with gamma = scale[c]; dscale = sum g xhat and
 * dB = sum g over the batch and spatial axes.
 */
function instanceNormGrad(c: GradContext) {
  const e = c.e;
  const x = inputOf(c, 0), scale = c.node.inputs[1];
  const g = gradOf(c, 0);
  const rank = c.inputTypes[0]!.shape.length;
  const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 2);
  const eps = (c.node.attrs.epsilon as number | undefined) ?? 1e-5;
  const gamma = e.v(scale).unsqueeze(spatial.map((a) => a - 1));
  const { dx, xhat } = normalizeGrad(x, g, gamma, spatial, eps);
  const sumAxes = e.ints([0, ...spatial]);
  const dScale = g.mul(xhat).sum(sumAxes, false);
  const dB = g.sum(sumAxes, false);
  return [dx.name, dScale.name, dB.name];
}
