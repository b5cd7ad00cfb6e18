/**
 * AveragePool (opset 11): X (N, C, D1..Dn) -> (N, C, O1..On), the window
 * sizes from `kernel_shape` (see `windowOutput`). Opset 11 has no dilations.
 */
import { type GradContext, type OpDef, ShapeError } from "./op_def.ts";
import { gradOf, needStatic, shapeOf } from "./grad_util.ts";
import { explicitPads } from "./conv.ts";
import { type DType, getNumber, setNumber, table, type Tensor } from "../ir/tensor.ts";
import { expectDtype, expectRank, FLOAT_NO_BF16, input, intAttr, intsAttr } from "./rules.ts";
import { tapMatrix, windowOutput } from "./window.ts";
import { diag } from "../diagnostics.ts";

export const averagePoolOp: OpDef = {
  op: "AveragePool",
  grad: averagePoolGrad,
  since: 11,
  inputs: [{ name: "X" }],
  outputs: [{ name: "Y" }],
  attrs: {
    auto_pad: { type: "string", default: "NOTSET" },
    ceil_mode: { type: "int", default: 0 },
    count_include_pad: { type: "int", default: 0 },
    kernel_shape: { type: "ints", required: true },
    pads: { type: "ints" },
    strides: { type: "ints" },
  },
  infer(ctx) {
    const x = input(ctx, "AveragePool", 0, "X");
    expectDtype("AveragePool", "X", x, FLOAT_NO_BF16);
    expectRank("AveragePool", "X", x, 3, true);
    const kernel = intsAttr(ctx.attrs, "kernel_shape");
    if (!kernel || kernel.length !== x.shape.length - 2) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "AveragePool",
          `kernel_shape with ${x.shape.length - 2} values for input of rank ${x.shape.length}`,
          kernel ? `[${kernel.join(", ")}]` : "none",
        ),
      );
    }
    const attrs = { ...ctx.attrs };
    delete attrs.dilations;
    const ceil = intAttr(ctx.attrs, "ceil_mode") === 1;
    const spatial = windowOutput("AveragePool", x, kernel, attrs, ceil);
    return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...spatial] }];
  },
};

/**
 * 1 / the divisor of each output position (0 where it is 0): the window positions inside the
 * input (count_include_pad = 0) or inside the explicitly padded input (1; positions past the
 * padding, which ceil_mode can add, never count), as the reference kernel and onnxruntime
 * divide. A table of the output's size: checked before anything is computed.
 */
function inverseDivisors(
  dtype: DType,
  inSp: number[],
  outSp: number[],
  kernel: number[],
  strides: number[],
  pads: number[],
  includePad: boolean,
): Tensor {
  const out = table(dtype, outSp, "AveragePool's gradient divisors");
  const n = inSp.length;
  const perDim = inSp.map((h, d) =>
    Array.from({ length: outSp[d] }, (_, o) => {
      let count = 0;
      for (let k = 0; k < kernel[d]; k++) {
        const pos = o * strides[d] + k - pads[d];
        const lo = includePad ? -pads[d] : 0;
        const hi = includePad ? h + pads[d + n] : h;
        if (pos >= lo && pos < hi) count++;
      }
      return count;
    })
  );
  for (let p = 0; p < out.data.length; p++) {
    let q = p, count = 1;
    for (let d = n - 1; d >= 0; d--) {
      count *= perDim[d][q % outSp[d]];
      q = Math.floor(q / outSp[d]);
    }
    setNumber(out, p, count > 0 ? 1 / count : 0);
  }
  return out;
}

/**
 * Planes with at most this many (output, input) position pairs take the gradient as one MatMul
 * by the spreading matrix; larger ones a transposed convolution. onnxruntime runs the transposed
 * convolution of [N C, 1, o, o] planes as N C tiny products: for a batch of 16 (onnxruntime-node
 * 1.30, 2 threads, minima of 60 runs), 512 channels at 1x1 -> 2x2 took 1.47 ms against 0.06 ms as
 * a MatMul, 256 at 2x2 -> 4x4 0.93 against 0.04, 128 at 4x4 -> 8x8 0.52 against 0.07; at 8x8 ->
 * 16x16 (16,384 pairs) the two were even (0.41-0.43 against 0.26-0.40 ms) and at 16x16 -> 32x32
 * the MatMul 3x slower. (An Expand of [N, C, o, 1, o, 1] took 0.24-1.07 ms.)
 */
const SPREAD_MATRIX_MAX = 4096;

/**
 * The matrix [prod(out), prod(in)] that spreads one plane's gradient over the windows:
 * entry (o, i) is 1 / count[o] when input position i lies in output o's window (the positions
 * in the padding read nothing), else 0: the tap matrix's taps summed, row o scaled by inv[o].
 */
function spreadMatrix(
  dtype: DType,
  inv: Tensor,
  inSp: number[],
  outSp: number[],
  kernel: number[],
  strides: number[],
  pads: number[],
): Tensor {
  const dil = kernel.map(() => 1);
  const s = tapMatrix(dtype, { kernel, strides, dil, pads, inSp, outSp });
  const outSize = outSp.reduce((a, b) => a * b, 1), inSize = inSp.reduce((a, b) => a * b, 1);
  const m = table(dtype, [outSize, inSize], "AveragePool's gradient matrix");
  const taps = kernel.reduce((a, b) => a * b, 1), pairs = outSize * inSize;
  for (let k = 0; k < taps; k++) {
    for (let p = 0; p < pairs; p++) {
      if (getNumber(s, k * pairs + p)) setNumber(m, p, getNumber(inv, Math.floor(p / inSize)));
    }
  }
  return m;
}

/**
 * AveragePool is linear: y[o] = sum_{i in window(o)} x[i] / count[o]. So
 * dx[i] = sum_{o: i in window(o)} g[o] / count[o]: g divided by the
 * (compile-time) divisors, spread over each window by a transposed
 * convolution with a ones kernel (each (n, c) plane as its own batch item),
 * then cropped or zero-extended to the input by a Pad with pads
 * [-pad_begin, in - (full - pad_begin)]. On small maps, one MatMul by the spreading matrix
 * instead (SPREAD_MATRIX_MAX).
 */
function averagePoolGrad(c: GradContext) {
  const e = c.e;
  const x = c.node.inputs[0];
  const xt = c.inputTypes[0]!;
  const attrs = c.node.attrs;
  const n = xt.shape.length - 2;
  const ones = new Array<number>(n).fill(1);
  const kernel = attrs.kernel_shape as number[];
  const strides = (attrs.strides as number[] | undefined) ?? ones;
  const inSp = xt.shape.slice(2).map((d, i) => needStatic(d, "AveragePool", `input dim ${i + 2}`));
  const outSp = c.outputTypes[0].shape.slice(2).map((d, i) =>
    needStatic(d, "AveragePool", `output dim ${i + 2}`)
  );
  const pads = explicitPads(attrs, inSp, outSp, kernel, strides, ones);
  const includePad = ((attrs.count_include_pad as number | undefined) ?? 0) !== 0;
  const dtype = xt.dtype;
  const divisors = inverseDivisors(dtype, inSp, outSp, kernel, strides, pads, includePad);
  const outSize = outSp.reduce((a, b) => a * b, 1), inSize = inSp.reduce((a, b) => a * b, 1);
  if (outSize * inSize <= SPREAD_MATRIX_MAX) {
    // Small maps: each (n, c) plane times the matrix that spreads it (divisors included).
    const spread = spreadMatrix(dtype, divisors, inSp, outSp, kernel, strides, pads);
    const dx = gradOf(c, 0).reshape([-1, outSize]).op("MatMul", [e.constant(spread)]);
    return [dx.reshape(shapeOf(c, x)).name];
  }
  const inv = e.constant(divisors);
  const planes = gradOf(c, 0).mul(inv).reshape([-1, 1, ...outSp]);
  const kernelOnes = e.constant(table(dtype, [1, 1, ...kernel], "AveragePool's window", () => 1));
  const full = planes.op("ConvTranspose", [kernelOnes], { strides });
  const fullSp = outSp.map((o, i) => (o - 1) * strides[i] + kernel[i]);
  const crop = [
    0,
    0,
    ...pads.slice(0, n).map((p) => -p),
    0,
    0,
    ...inSp.map((h, i) => h + pads[i] - fullSp[i]),
  ];
  const dx = full.op("Pad", [e.ints(crop)]);
  return [dx.reshape(shapeOf(c, x)).name];
}
