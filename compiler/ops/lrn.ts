/**
 * LRN (opset 13): local response normalisation across channels of
 * X (N, C, D1..Dn), over a window of `size` channels; same shape.
 */
import { type GradContext, type OpDef, ShapeError } from "./registry.ts";
import { ints, op1, scalar } from "./grad_util.ts";
import { tensor } from "../ir/tensor.ts";
import { expectDtype, expectRank, FLOAT, input, intAttr } from "./rules.ts";

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
    if (size < 1) throw new ShapeError(`LRN expects size >= 1, found ${size}`);
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
  const x = c.node.inputs[0];
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
  const kernel = c.constant(tensor(dtype, kernelShape, new Array(size).fill(1)));
  const zeros = new Array<number>(rank - 2).fill(0);
  const one = ints(c, [1]);
  const windowSum = (v: string, begin: number, end: number) =>
    op1(c, "Squeeze", [
      op1(c, "Conv", [op1(c, "Unsqueeze", [v, one]), kernel], {
        pads: [begin, ...zeros, end, ...zeros],
      }),
      one,
    ]);
  const mul = (p: string, q: string) => op1(c, "Mul", [p, q]);
  const g = c.outputGrads[0];
  const s = op1(c, "Add", [
    mul(windowSum(mul(x, x), lo, hi), scalar(c, dtype, alpha / size)),
    scalar(c, dtype, bias),
  ]);
  const direct = mul(g, op1(c, "Pow", [s, scalar(c, dtype, -beta)]));
  const inner = mul(mul(g, x), op1(c, "Pow", [s, scalar(c, dtype, -beta - 1)]));
  const spread = mul(windowSum(inner, hi, lo), mul(x, scalar(c, dtype, 2 * beta * alpha / size)));
  return [op1(c, "Sub", [direct, spread])];
}
