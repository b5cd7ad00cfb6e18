/**
 * BatchNormalization (opset 15): X (N, C, D1..Dn) normalised per channel
 * with scale, B, input_mean and input_var, all of shape (C). In training
 * mode it also outputs the updated running_mean and running_var (C).
 */
import { formatType, type TensorType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { dimEquals } from "./dims.ts";
import { expectDtype, expectRank, FLOAT, input, sameDtype } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { gradOf, inputOf } from "./grad_util.ts";
import { numel } from "../ir/tensor.ts";
import type { Expr } from "../ir/expr.ts";
import { diag } from "../diagnostics.ts";

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
          ...diag(
            "DLM0227",
            "BatchNormalization",
            `'${PORTS[i]}' of shape [${c}] for input ${formatType(x)}`,
            formatType(t),
          ),
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
  const [, scale, , runMean, runVar] = c.node.inputs;
  if (!c.outputGrads[0]) return [];
  const e = c.e;
  const x = inputOf(c, 0), g = gradOf(c, 0);
  const rank = c.inputTypes[0]!.shape.length;
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const eps = (c.node.attrs.epsilon as number | undefined) ?? 1e-5;
  const perChannel = e.ints([-1, ...new Array(rank - 2).fill(1)]);
  const gamma = e.v(scale).reshape(perChannel);
  const dtype = x.dtype;
  const sum = (v: Expr, keepdims = false) => v.sum(axes, keepdims);
  if (c.node.attrs.training_mode === 1) {
    // gamma is constant over the reduced axes. With xc = x - mean(x), rstd = 1 / sqrt(mean(xc^2)
    // + eps), sg = sum(g) and sgx = sum(g xc) per channel and inv = 1 / (elements per channel):
    //   dx = gamma rstd (g - xc rstd^2 sgx inv) - gamma rstd sg inv,  dgamma = sgx rstd,  dB = sg
    // Each sum serves its parameter's gradient and dx, and xhat is never formed: 7 full-size
    // ops and 4 reductions, where dx = gamma rstd (g - mean(g) - xhat mean(g xhat)) takes 8 and 6
    // (and the general normalizeGrad, which LayerNorm needs, more).
    const shape = c.inputTypes[0]!.shape;
    const size = (v: Expr) => v.op("Size").cast(dtype);
    const inv = shape.every((d) => typeof d === "number")
      ? e.scalar((shape[1] as number) / numel(shape as number[]), dtype)
      : size(e.v(scale)).div(size(x));
    const mean = (v: Expr) => v.mean(axes, true);
    const xc = x.sub(mean(x));
    const rstd = mean(xc.square()).add(eps).sqrt().reciprocal();
    const sg = sum(g, true), sgx = sum(g.mul(xc), true);
    const k1 = gamma.mul(rstd);
    const q = rstd.square().mul(sgx.mul(inv));
    const dx = g.sub(xc.mul(q)).mul(k1).sub(k1.mul(sg.mul(inv)));
    const flat = (v: Expr) => v.reshape([-1]).name;
    return [dx.name, flat(sgx.mul(rstd)), flat(sg), undefined, undefined];
  }
  // Eval mode: y = gamma (x - running mean) rstd + B with rstd = 1 / sqrt(running var + eps).
  const dB = sum(g);
  const rstd = e.v(runVar).add(eps).sqrt().reciprocal().reshape(perChannel);
  const xhat = x.sub(e.v(runMean).reshape(perChannel)).mul(rstd);
  const dx = g.mul(gamma.mul(rstd));
  return [dx.name, sum(g.mul(xhat)).name, dB.name, undefined, undefined];
}
