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
import { countOver, gradOf, inputOf } from "./grad_util.ts";
import { tensor, zeros } from "../ir/tensor.ts";
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
 * The statistics of a train-mode batch norm over `axes` (all but the channel), in the form both
 * its gradient and the forward rewrite of compiler/passes/share_batch_statistics.ts build, so
 * that cse keeps one copy:
 *
 *   mean = Reshape(ReduceMean(x, axes, keepdims), [-1])   [C]
 *   xc   = x - ReduceMean(x, axes, keepdims)
 *   var  = ReduceMean(xc * xc, axes)                      [C]  (the population variance)
 *
 * onnxruntime's ReduceSumSquare would be one node for the last line, but runs at about 3x the Mul
 * and ReduceMean together (0.6 against 0.2 ms for 1M floats, one thread). A packed training step
 * turns these and its forward's batch norm into one train-mode node
 * (`fuseBatchStatistics`, compiler/train/batch_norm_state.ts).
 */
export function batchStatistics(x: Expr): { mean: Expr; xc: Expr; variance: Expr; axes: number[] } {
  const rank = x.type.shape.length;
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const kept = x.mean(axes, true);
  const xc = x.sub(kept);
  const variance = xc.mul(xc).mean(axes, false);
  return { mean: kept.reshape([-1]), xc, variance, axes };
}

/** Zeros for the per-channel inputs of a batch norm used as an affine map. */
function zerosLikeChannels(c: GradContext, like: string): Expr {
  const t = c.typeOf(like);
  return c.e.constant(zeros(t.dtype, t.shape as number[]));
}

/** Ones for the scale of a batch norm used as a per-channel normalisation. */
function ones(c: GradContext, like: string): Expr {
  const t = c.typeOf(like);
  const n = t.shape[0] as number;
  return c.e.constant(tensor(t.dtype, [n], new Array<number>(n).fill(1)));
}

/**
 * Training mode normalises with the batch statistics, so the gradient flows through them; eval
 * mode is an affine map with the running statistics (which get no gradient). Both use
 * BatchNormalization itself, in inference mode, as a one-node per-channel affine map of a
 * full-size tensor: BN(z; s, b, m, v) = s (z - m) / sqrt(v + eps) + b with [C] vectors, which
 * takes no Reshape of the vectors and one pass over z.
 */
function batchNormGrad(c: GradContext) {
  const [, scale, , runMean, runVar] = c.node.inputs;
  if (!c.outputGrads[0]) return [];
  const e = c.e;
  const x = inputOf(c, 0), g = gradOf(c, 0);
  const eps = (c.node.attrs.epsilon as number | undefined) ?? 1e-5;
  const bn = (z: Expr, s: Expr | string, b: Expr | string, m: Expr | string, v: Expr | string) =>
    z.op("BatchNormalization", [s, b, m, v], { epsilon: eps });
  if (c.node.attrs.training_mode === 1) {
    // Per channel, over the M elements of the reduced axes, with mean and var the batch's
    // (population) statistics, rstd = (var + eps)^-1/2, xhat = (x - mean) rstd and
    // y = gamma xhat + B:
    //   dB     = sum(g)        = M mg,    mg  = mean(g)
    //   dgamma = sum(g xhat)   = M mgx,   mgx = mean(g xhat)
    //   dx     = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)),  dxhat = gamma g
    //          = gamma rstd (g - h),  h = mgx xhat + mg
    // since gamma is constant over the axes (mean(gamma g) = gamma mg and
    // mean(gamma g xhat) = gamma mgx). xhat, h and dx are batch norms in inference mode
    // reading the batch's statistics as the step's forward computes them (`batchStatistics`; cse
    // keeps one copy, and a packed step computes them in its forward's train-mode node):
    //   xhat = BN(x;     1,   0,  mean, var)
    //   h    = BN(x;     mgx, mg, mean, var)
    //   dx   = BN(g - h; gamma, 0, 0,   var)
    // So the backward is xhat, g xhat, two means to [C], h, g - h and dx, and the two scalings by
    // M of the parameters' gradients: nine nodes. The means are what h reads; where the
    // gradients go into a parameter pack's gradient, hoist_concat_scales takes the two scalings
    // out to one per pack (a packed step's batch norm backward: seven nodes). (With the centred
    // xc of the statistics, dgamma = rstd sum(g xc) is a batch norm of the [1, C, 1, ...] sum
    // and a Reshape, and h = BN(xc; .., 0, var): one node more and one full-size pass fewer, but
    // the train-mode node has no xc.)
    const zero = zerosLikeChannels(c, scale);
    const { mean, variance, axes } = batchStatistics(x);
    const count = countOver(e, c.graphInputs, x, axes, x.dtype);
    const mg = g.mean(axes, false);
    const xhat = bn(x, ones(c, scale), zero, mean, variance);
    const mgx = g.mul(xhat).mean(axes, false);
    const h = bn(x, mgx, mg, mean, variance);
    const dx = bn(g.sub(h), scale, zero, zero, variance);
    const dgamma = mgx.mul(count), sg = mg.mul(count);
    return [dx.name, dgamma.name, sg.name, undefined, undefined];
  }
  // Eval mode: y = gamma xhat + B with xhat = (x - running mean) / sqrt(running var + eps):
  //   dx = gamma g / sqrt(running var + eps) = BN(g; gamma, 0, 0, running var)
  //   dgamma = sum(g xhat),  xhat = BN(x; 1, 0, running mean, running var),  dB = sum(g)
  const zero = zerosLikeChannels(c, scale);
  const rank = c.inputTypes[0]!.shape.length;
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const dx = bn(g, scale, zero, zero, runVar);
  const xhat = bn(x, ones(c, scale), zero, runMean, runVar);
  return [
    dx.name,
    g.mul(xhat).sum(axes, false).name,
    g.sum(axes, false).name,
    undefined,
    undefined,
  ];
}
