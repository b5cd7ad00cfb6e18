/**
 * BatchNormalization (opset 15): X (N, C, D1..Dn) normalised per channel
 * with scale, B, input_mean and input_var, all of shape (C). In training
 * mode it also outputs the updated running_mean and running_var (C).
 */
import { formatType, type TensorType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./registry.ts";
import { dimEquals } from "./dims.ts";
import { expectDtype, expectRank, FLOAT, input, sameDtype } from "./rules.ts";
import type { GradContext } from "./registry.ts";
import { ints, op1, scalar } from "./grad_util.ts";
import { DTYPES, numel } from "../ir/tensor.ts";

const PORTS = ["X", "scale", "B", "input_mean", "input_var"];

export const batchNormalizationOp: OpDef = {
  op: "BatchNormalization",
  grad: batchNormGrad,
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
};

/**
 * Training mode normalises with the batch statistics over axes (0, 2, ...),
 * so the gradient flows through them; eval mode is an affine map with the
 * running statistics (which get no gradient).
 */
function batchNormGrad(c: GradContext) {
  const [x, scale, , runMean, runVar] = c.node.inputs;
  const g = c.outputGrads[0];
  if (!g) return [];
  const rank = c.inputTypes[0]!.shape.length;
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const eps = (c.node.attrs.epsilon as number | undefined) ?? 1e-5;
  const perChannel = ints(c, [-1, ...new Array(rank - 2).fill(1)]);
  const gamma = op1(c, "Reshape", [scale, perChannel]);
  const dtype = c.inputTypes[0]!.dtype;
  const sum = (v: string, keepdims = 0) => op1(c, "ReduceSum", [v, ints(c, axes)], { keepdims });
  const mul = (a: string, b: string) => op1(c, "Mul", [a, b]);
  if (c.node.attrs.training_mode === 1) {
    // gamma is constant over the reduced axes. With xc = x - mean(x), rstd = 1 / sqrt(mean(xc^2)
    // + eps), sg = sum(g) and sgx = sum(g xc) per channel and inv = 1 / (elements per channel):
    //   dx = gamma rstd (g - xc rstd^2 sgx inv) - gamma rstd sg inv,  dgamma = sgx rstd,  dB = sg
    // Each sum serves its parameter's gradient and dx, and xhat is never formed: 7 full-size
    // ops and 4 reductions, where dx = gamma rstd (g - mean(g) - xhat mean(g xhat)) takes 8 and 6
    // (and the general normalizeGrad, which LayerNorm needs, more).
    const shape = c.inputTypes[0]!.shape;
    const size = (v: string) => op1(c, "Cast", [op1(c, "Size", [v])], { to: DTYPES[dtype].onnx });
    const inv = shape.every((d) => typeof d === "number")
      ? scalar(c, dtype, (shape[1] as number) / numel(shape as number[]))
      : op1(c, "Div", [size(scale), size(x)]);
    const mean = (v: string) => op1(c, "ReduceMean", [v], { axes, keepdims: 1 });
    const xc = op1(c, "Sub", [x, mean(x)]);
    const rstd = op1(c, "Reciprocal", [
      op1(c, "Sqrt", [op1(c, "Add", [mean(mul(xc, xc)), scalar(c, dtype, eps)])]),
    ]);
    const sg = sum(g, 1), sgx = sum(mul(g, xc), 1);
    const k1 = mul(gamma, rstd);
    const q = mul(mul(rstd, rstd), mul(sgx, inv));
    const dx = op1(c, "Sub", [
      mul(op1(c, "Sub", [g, mul(xc, q)]), k1),
      mul(k1, mul(sg, inv)),
    ]);
    const flat = (v: string) => op1(c, "Reshape", [v, ints(c, [-1])]);
    return [dx, flat(mul(sgx, rstd)), flat(sg), undefined, undefined];
  }
  const dB = sum(g);
  const rstd = op1(c, "Reshape", [
    op1(c, "Reciprocal", [op1(c, "Sqrt", [op1(c, "Add", [runVar, scalar(c, dtype, eps)])])]),
    perChannel,
  ]);
  const xhat = op1(c, "Mul", [op1(c, "Sub", [x, op1(c, "Reshape", [runMean, perChannel])]), rstd]);
  const dx = op1(c, "Mul", [g, op1(c, "Mul", [gamma, rstd])]);
  return [dx, sum(op1(c, "Mul", [g, xhat])), dB, undefined, undefined];
}
