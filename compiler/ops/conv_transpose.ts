/**
 * ConvTranspose (opset 11): X (N, C, D1..Dn), W (C, M/group, k1..kn),
 * optional B (M) -> Y (N, M, O1..On) with
 *   Oi = stride * (Di - 1) + output_padding + (ki - 1) * dilation + 1 - pad_begin - pad_end
 * or Oi = Di * stride under SAME_* auto padding, or `output_shape` when set.
 */
import { type Dim, formatType } from "../ir/graph.ts";
import { register, ShapeError } from "./registry.ts";
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

register({
  op: "ConvTranspose",
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
        `ConvTranspose expects weight rank to equal input rank: input ${
          formatType(x)
        } has ${x.shape.length} dims, weight ${formatType(w)} has ${w.shape.length}`,
      );
    }
    const c = x.shape[1], wc = w.shape[0];
    if (typeof c === "number" && typeof wc === "number" && c !== wc) {
      throw new ShapeError(
        `ConvTranspose expects input channels to equal weight dim 0: input ${
          formatType(x)
        } has ${c}, weight ${formatType(w)} has ${wc}`,
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
      throw new ShapeError(`ConvTranspose expects bias of shape [${m}], found ${formatType(b)}`);
    }
    return [{ dtype, shape: [x.shape[0], m, ...spatial] }];
  },
});
