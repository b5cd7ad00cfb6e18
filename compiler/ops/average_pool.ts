/**
 * AveragePool (opset 11): X (N, C, D1..Dn) -> (N, C, O1..On), the window
 * sizes from `kernel_shape` (see `windowOutput`). Opset 11 has no dilations.
 */
import { type GradContext, type OpDef, ShapeError } from "./op_def.ts";
import { gradOf, needStatic, shapeOf } from "./grad_util.ts";
import { explicitPads } from "./conv.ts";
import { type DType, setNumber, table, type Tensor } from "../ir/tensor.ts";
import { expectDtype, expectRank, FLOAT_NO_BF16, input, intAttr, intsAttr } from "./rules.ts";
import { windowOutput } from "./window.ts";
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
 * AveragePool is linear: y[o] = sum_{i in window(o)} x[i] / count[o]. So
 * dx[i] = sum_{o: i in window(o)} g[o] / count[o]: g divided by the
 * (compile-time) divisors, spread over each window by a transposed
 * convolution with a ones kernel (each (n, c) plane as its own batch item),
 * then cropped or zero-extended to the input by a Pad with pads
 * [-pad_begin, in - (full - pad_begin)].
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
  const inv = e.constant(inverseDivisors(dtype, inSp, outSp, kernel, strides, pads, includePad));
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
