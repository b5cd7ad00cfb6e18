/**
 * ConvTranspose (opset 11): X (N, C, D1..Dn), W (C, M/group, k1..kn),
 * optional B (M) -> Y (N, M, O1..On) with
 *   Oi = stride * (Di - 1) + output_padding + (ki - 1) * dilation + 1 - pad_begin - pad_end
 * or Oi = Di * stride under SAME_* auto padding, or `output_shape` when set.
 */
import { type Dim, formatType } from "../ir/graph.ts";
import { type GradContext, type OpDef, ShapeError } from "./op_def.ts";
import { gradOf, inputOf, needStatic } from "./grad_util.ts";
import type { Expr } from "../ir/expr.ts";
import { dimAdd, dimMul, dimSub } from "./dims.ts";
import {
  expectDtype,
  expectRank,
  FLOAT_NO_BF16,
  input,
  intAttr,
  intsAttr,
  sameDtype,
  strAttr,
} from "./rules.ts";
import { spatialInts } from "./window.ts";
import { diag } from "../diagnostics.ts";

export const convTransposeOp: OpDef = {
  op: "ConvTranspose",
  grad: convTransposeGrad,
  since: 11,
  inputs: [{ name: "X" }, { name: "W" }, { name: "B", optional: true }],
  outputs: [{ name: "Y" }],
  attrs: {
    auto_pad: { type: "string", default: "NOTSET" },
    dilations: { type: "ints" },
    group: { type: "int", default: 1 },
    kernel_shape: { type: "ints" },
    output_padding: { type: "ints" },
    output_shape: { type: "ints" },
    pads: { type: "ints" },
    strides: { type: "ints" },
  },
  infer(ctx) {
    const op = "ConvTranspose";
    const x = input(ctx, op, 0, "X");
    const w = input(ctx, op, 1, "W");
    const b = ctx.inputs[2];
    expectDtype(op, "X", x, FLOAT_NO_BF16);
    const dtype = sameDtype(op, [["X", x], ["W", w], ["B", b]]);
    expectRank(op, "X", x, 3, true);
    if (w.shape.length !== x.shape.length) {
      throw new ShapeError(
        ...diag(
          "DLM0228",
          "ConvTranspose",
          "weight rank to equal input rank",
          `input ${formatType(x)} has ${x.shape.length} dims, weight ${
            formatType(w)
          } has ${w.shape.length}`,
        ),
      );
    }
    const c = x.shape[1], wc = w.shape[0];
    if (typeof c === "number" && typeof wc === "number" && c !== wc) {
      throw new ShapeError(
        ...diag(
          "DLM0228",
          "ConvTranspose",
          "input channels to equal weight dim 0",
          `input ${formatType(x)} has ${c}, weight ${formatType(w)} has ${wc}`,
        ),
      );
    }
    const group = intAttr(ctx.attrs, "group", 1);
    const m = dimMul(w.shape[1], group);
    const n = x.shape.length - 2;
    const kernel: Dim[] = intsAttr(ctx.attrs, "kernel_shape") ?? w.shape.slice(2);
    const strides = spatialInts(op, ctx.attrs, "strides", n, 1);
    const dilations = spatialInts(op, ctx.attrs, "dilations", n, 1);
    const outPad = spatialInts(op, ctx.attrs, "output_padding", n, 0);
    const autoPad = strAttr(ctx.attrs, "auto_pad", "NOTSET");
    const pads = autoPad === "NOTSET"
      ? spatialInts(op, ctx.attrs, "pads", 2 * n, 0)
      : new Array(2 * n).fill(0);
    const outputShape = intsAttr(ctx.attrs, "output_shape");
    const spatial: Dim[] = [];
    for (let i = 0; i < n; i++) {
      const d = x.shape[2 + i];
      if (outputShape) {
        // output_shape may list all dims or only the spatial ones.
        spatial.push(outputShape[outputShape.length - n + i]);
      } else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
        spatial.push(dimMul(d, strides[i]));
      } else {
        const span = dimAdd(dimMul(dimSub(kernel[i], 1), dilations[i]), 1);
        const full = dimAdd(dimAdd(dimMul(strides[i], dimSub(d, 1)), outPad[i]), span);
        spatial.push(dimSub(full, pads[i] + pads[n + i]));
      }
    }
    if (
      b &&
      (b.shape.length !== 1 ||
        (typeof b.shape[0] === "number" && typeof m === "number" && b.shape[0] !== m))
    ) {
      throw new ShapeError(
        ...diag("DLM0227", "ConvTranspose", `bias of shape [${m}]`, formatType(b)),
      );
    }
    return [{ dtype, shape: [x.shape[0], m, ...spatial] }];
  },
};

/**
 * y[n, m, i s + k d - p] += x[n, c, i] w[c, m, k] (per group; p = pad_begin,
 * the output cropped by the pads), so dx[n, c, i] = sum_{m, k} g[n, m,
 * i s + k d - p] w[c, m, k] is the forward Conv of g with the same weights,
 * strides, dilations and pads; and dw[c, m, k] = sum_{n, i} x[n, c, i]
 * g[n, m, k d + i s - p] is a Conv of g (channels as batch) with x (batch as
 * channels) as the kernel, strides and dilations swapped, cropped to the
 * kernel. Explicit pads only (auto_pad NOTSET, no output_shape).
 *
 * With G groups, input channel (j, c), c < C/G, feeds output channels (j, m),
 * m < M/G, and
 *
 *   dw[(j, c), m, k] = sum_{n, i} x[n, (j, c), i] g[n, (j, m), k d + i s - p]
 *
 * Take g as [N, G, M/G, o...] transposed to G' = [M/G, G, N, o...] and read
 * as [M/G, (G, N), o...], and x transposed to X' = [C, N, i...] as the
 * kernel. A Conv with group G pairs output channel (j, c) with input
 * channels (j, n), so
 *
 *   Conv(G', X')[m, (j, c), k] = sum_{n, i} G'[m, (j, n), k d + i s - p] X'[(j, c), n, i]
 *                              = dw[(j, c), m, k]
 *
 * and dw is its transpose, [C, M/G, k...]: one Conv whatever G (conv.ts
 * derives the same exchange for the Conv's own weight gradient).
 */
function convTransposeGrad(c: GradContext) {
  const e = c.e;
  const [, w, bias] = c.node.inputs;
  const x = inputOf(c, 0), g = gradOf(c, 0);
  const xt = c.inputTypes[0]!;
  const wt = c.inputTypes[1]!;
  const n = xt.shape.length - 2;
  const attrs = c.node.attrs;
  if (((attrs.auto_pad as string | undefined) ?? "NOTSET") !== "NOTSET" || attrs.output_shape) {
    throw new Error("only explicit pads are supported (auto_pad NOTSET, no output_shape)");
  }
  const ones = new Array<number>(n).fill(1);
  const strides = (attrs.strides as number[] | undefined) ?? ones;
  const dil = (attrs.dilations as number[] | undefined) ?? ones;
  const group = (attrs.group as number | undefined) ?? 1;
  const pads = (attrs.pads as number[] | undefined) ?? new Array<number>(2 * n).fill(0);
  const kernel = (attrs.kernel_shape as number[] | undefined) ??
    wt.shape.slice(2).map((d, i) => needStatic(d, "ConvTranspose", `kernel dim ${i}`));
  const inSp = xt.shape.slice(2).map((d, i) =>
    needStatic(d, "ConvTranspose", `input dim ${i + 2}`)
  );
  const spatialAxes = e.ints(Array.from({ length: n }, (_, i) => i + 2));
  const crop = (v: Expr, to: number[]) =>
    v.op("Slice", [e.ints(new Array(n).fill(0)), e.ints(to), spatialAxes]);

  // Output padding of at least one stride would give extra rows: crop to the input.
  const dX = crop(g.op("Conv", [w], { strides, dilations: dil, group, pads }), inSp);

  const perm = [1, 0, ...Array.from({ length: n }, (_, i) => i + 2)];
  const xT = x.transpose(perm);
  // g as [M/G, G, N, o...]; without groups, or with one output channel a group, a plain transpose.
  const yt = c.outputTypes[0];
  const perGroup = group === 1
    ? 0
    : needStatic(yt.shape[1], "ConvTranspose", "output channels") / group;
  const outSp = () =>
    yt.shape.slice(2).map((d, i) => needStatic(d, "ConvTranspose", `output dim ${i + 2}`));
  const gT = group === 1 || perGroup === 1
    ? g.transpose(perm)
    : g.reshape([0, group, perGroup, ...outSp()])
      .transpose([2, 1, 0, ...Array.from({ length: n }, (_, i) => i + 3)]);
  // [M/G, (G, N), o...]: a Reshape with -1 keeps a symbolic batch.
  const gIn = group === 1 ? gT : gT.reshape([perGroup, -1, ...outSp()]);
  const dWt = crop(
    gIn.op("Conv", [xT], {
      strides: dil,
      dilations: strides,
      pads,
      ...(group === 1 ? {} : { group }),
    }),
    kernel,
  );
  // With one output channel a group, [1, C, k...] to [C, 1, k...] moves no element: a Reshape.
  const dW = group > 1 && perGroup === 1
    ? dWt.reshape([needStatic(xt.shape[1], "ConvTranspose", "input channels"), 1, ...kernel])
    : dWt.transpose(perm);
  const dB = bias ? g.sum([0, ...Array.from({ length: n }, (_, i) => i + 2)], false) : undefined;
  return [dX.name, dW.name, dB?.name];
}
