/**
 * LRN (opset 13): local response normalisation across channels of
 * X (N, C, D1..Dn), over a window of `size` channels; same shape.
 */
import { type GradContext, type OpDef, ShapeError } from "./op_def.ts";
import { gradOf, inputOf } from "./grad_util.ts";
import type { Expr } from "../ir/expr.ts";
import { table } from "../ir/tensor.ts";
import { expectDtype, expectRank, FLOAT, input, intAttr } from "./rules.ts";
import { diag } from "../diagnostics.ts";

export const lrnOp: OpDef = {
  op: "LRN",
  grad: lrnGrad,
  since: 13,
  inputs: [{ name: "X" }],
  outputs: [{ name: "Y" }],
  attrs: {
    alpha: { type: "float", default: 1e-4 },
    beta: { type: "float", default: 0.75 },
    bias: { type: "float", default: 1.0 },
    size: { type: "int", required: true },
  },
  infer(ctx) {
    const x = input(ctx, "LRN", 0, "X");
    expectDtype("LRN", "X", x, FLOAT);
    expectRank("LRN", "X", x, 3, true);
    const size = intAttr(ctx.attrs, "size");
    if (size < 1) throw new ShapeError(...diag("DLM0227", "LRN", "size >= 1", size));
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
};

/**
 * With S[c] = sum_{c' in [c - lo, c + hi]} x[c']^2 (lo = floor((size - 1) / 2),
 * hi = ceil((size - 1) / 2)), s = bias + alpha / size S and y = x s^-beta:
 *   dx[c'] = g[c'] s[c']^-beta
 *            - 2 beta alpha / size x[c'] sum_{c in [c' - hi, c' + lo]} g[c] x[c] s[c]^(-beta-1).
 * Both channel-window sums are a Conv with a [size] ones kernel over the
 * channel axis (the input unsqueezed to one channel); the adjoint swaps the pads.
 */
function lrnGrad(c: GradContext) {
  const e = c.e;
  const x = inputOf(c, 0);
  const xt = c.inputTypes[0]!;
  const dtype = xt.dtype;
  const a = c.node.attrs;
  const size = a.size as number;
  const alpha = (a.alpha as number | undefined) ?? 1e-4;
  const beta = (a.beta as number | undefined) ?? 0.75;
  const bias = (a.bias as number | undefined) ?? 1;
  const rank = xt.shape.length;
  const lo = Math.floor((size - 1) / 2), hi = Math.ceil((size - 1) / 2);
  const kernelShape = [1, 1, size, ...new Array<number>(rank - 2).fill(1)];
  const kernel = e.constant(table(dtype, kernelShape, "LRN's window", () => 1));
  const zeros = new Array<number>(rank - 2).fill(0);
  const one = e.ints([1]);
  const windowSum = (v: Expr, begin: number, end: number) =>
    v.unsqueeze(one).op("Conv", [kernel], { pads: [begin, ...zeros, end, ...zeros] })
      .squeeze(one);
  const g = gradOf(c, 0);
  const s = windowSum(x.square(), lo, hi).mul(alpha / size).add(bias);
  const direct = g.mul(s.pow(-beta));
  const inner = g.mul(x).mul(s.pow(-beta - 1));
  const spread = windowSum(inner, hi, lo).mul(x.mul(2 * beta * alpha / size));
  return [direct.sub(spread).name];
}
