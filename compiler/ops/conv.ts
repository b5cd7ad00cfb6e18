/**
 * Conv (opset 11): X (N, C, D1..Dn), W (M, C/group, k1..kn), optional B (M)
 * -> Y (N, M, O1..On) with Oi from `windowOutput`.
 */
import { formatType } from "../ir/graph.ts";
import { register, ShapeError } from "./registry.ts";
import { dimEquals, dimMul } from "./dims.ts";
import {
  expectDtype,
  expectRank,
  FLOAT_NO_BF16,
  input,
  intAttr,
  intsAttr,
  sameDtype,
} from "./rules.ts";
import { windowOutput } from "./window.ts";
import type { GradContext } from "./registry.ts";
import { ints, needStatic, op1 } from "./grad_util.ts";

register({
  op: "Conv",
  grad: convGrad,
  since: 11,
  inputs: [{ name: "X" }, { name: "W" }, { name: "B", optional: true }],
  outputs: [{ name: "Y" }],
  attrs: {
    auto_pad: { type: "string", default: "NOTSET" },
    dilations: { type: "ints" },
    group: { type: "int", default: 1 },
    kernel_shape: { type: "ints" },
    pads: { type: "ints" },
    strides: { type: "ints" },
  },
  infer(ctx) {
    const x = input(ctx, "Conv", 0, "X");
    const w = input(ctx, "Conv", 1, "W");
    const b = ctx.inputs[2];
    expectDtype("Conv", "X", x, FLOAT_NO_BF16);
    const dtype = sameDtype("Conv", [["X", x], ["W", w], ["B", b]]);
    expectRank("Conv", "X", x, 3, true);
    if (w.shape.length !== x.shape.length) {
      throw new ShapeError(
        `Conv expects weight rank to equal input rank: input ${
          formatType(x)
        } has ${x.shape.length} dims, weight ${formatType(w)} has ${w.shape.length}`,
      );
    }
    const group = intAttr(ctx.attrs, "group", 1);
    if (group < 1) throw new ShapeError(`Conv expects group >= 1, found ${group}`);
    const need = dimMul(w.shape[1], group);
    const c = x.shape[1];
    if (typeof c === "number" && typeof need === "number" && c !== need) {
      throw new ShapeError(
        `Conv expects input channels to equal weight channels x group: input ${
          formatType(x)
        } has ${c}, weight ${formatType(w)} needs ${need}`,
      );
    }
    const m = w.shape[0];
    if (typeof m === "number" && m % group !== 0) {
      throw new ShapeError(
        `Conv expects output channels to be a multiple of group ${group}: weight ${
          formatType(w)
        } has ${m}`,
      );
    }
    const kernel = w.shape.slice(2);
    const ks = intsAttr(ctx.attrs, "kernel_shape");
    if (ks && (ks.length !== kernel.length || ks.some((k, i) => !dimEquals(k, kernel[i])))) {
      throw new ShapeError(
        `Conv expects kernel_shape to match the weight: kernel_shape is [${
          ks.join(", ")
        }], weight ${formatType(w)} has [${kernel.join(", ")}]`,
      );
    }
    if (b) {
      if (
        b.shape.length !== 1 ||
        (typeof b.shape[0] === "number" && typeof m === "number" && b.shape[0] !== m)
      ) {
        throw new ShapeError(
          `Conv expects bias of shape [${m}] to match weight ${formatType(w)}, found ${
            formatType(b)
          }`,
        );
      }
    }
    const spatial = windowOutput("Conv", x, ks ?? kernel, ctx.attrs, false);
    return [{ dtype, shape: [x.shape[0], m, ...spatial] }];
  },
});

/** Explicit [begins..., ends...] pads of a window op, resolving auto_pad from the shapes. */
export function explicitPads(
  attrs: Record<string, unknown>,
  inSp: number[],
  outSp: number[],
  kernel: number[],
  strides: number[],
  dil: number[],
): number[] {
  const n = inSp.length;
  const mode = (attrs.auto_pad as string | undefined) ?? "NOTSET";
  if (mode === "NOTSET") return (attrs.pads as number[] | undefined) ?? new Array(2 * n).fill(0);
  if (mode === "VALID") return new Array(2 * n).fill(0);
  const pads = new Array(2 * n).fill(0);
  for (let i = 0; i < n; i++) {
    const total = Math.max(0, (outSp[i] - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - inSp[i]);
    const small = Math.floor(total / 2);
    pads[i] = mode === "SAME_UPPER" ? small : total - small;
    pads[i + n] = total - pads[i];
  }
  return pads;
}

/** Batch size the weight-gradient cost model assumes when the batch dim is symbolic. */
const ASSUMED_BATCH = 32;

/**
 * The weight gradient of a stride-1, undilated, ungrouped convolution in the
 * weight's own layout, [M, C, k...], when that is cheaper than transposing
 * [C, M, k...] (the other form's last step): with x and g both flipped in
 * space, correlating x as the kernel over g gives
 *
 *   Conv(flip(gT), flip(xT), pads = (K-1-p_end, K-1-p_begin))[m, c, k]
 *     = sum_{n, o} g[n, m, o] x[n, c, o + k - p_begin] = dW[m, c, k]
 *
 * The flips copy activations, the transpose copies the weight: for the
 * wide, small-image layers at the end of a CNN the weight is far larger
 * (ResNet-18's layer4 at 32x32 pixels: 2.4M weights, 8k activations, and
 * flips of 1-pixel maps are no-ops). Undefined when the form does not apply
 * or is not cheaper.
 */
function flippedWeightGrad(
  c: GradContext,
  xT: string,
  gT: string,
  o: {
    group: number;
    strides: number[];
    dil: number[];
    pads: number[];
    kernel: number[];
    inSp: number[];
    outSp: number[];
    batch: string | number;
    channelsIn: number;
    channelsOut: number;
  },
): string | undefined {
  const n = o.kernel.length;
  if (o.group !== 1 || o.strides.some((s) => s !== 1) || o.dil.some((d) => d !== 1)) {
    return undefined;
  }
  const qBegin = o.kernel.map((k, i) => k - 1 - o.pads[i + n]);
  const qEnd = o.kernel.map((k, i) => k - 1 - o.pads[i]);
  if ([...qBegin, ...qEnd].some((q) => q < 0)) return undefined;
  const xAxes = o.inSp.flatMap((h, i) => (h > 1 ? [i + 2] : []));
  const gAxes = o.outSp.flatMap((h, i) => (h > 1 ? [i + 2] : []));
  const batch = typeof o.batch === "number" ? o.batch : ASSUMED_BATCH;
  const area = (sp: number[]) => sp.reduce((a, d) => a * d, 1);
  // Elements copied: the flips move the activations they flip, the transpose the whole weight.
  const flipCost = (xAxes.length ? batch * o.channelsIn * area(o.inSp) : 0) +
    (gAxes.length ? batch * o.channelsOut * area(o.outSp) : 0);
  if (flipCost >= o.channelsIn * o.channelsOut * area(o.kernel)) return undefined;
  const flip = (v: string, axes: number[], sp: number[]) =>
    axes.length === 0 ? v : op1(c, "Slice", [
      v,
      ints(c, axes.map(() => -1)),
      ints(c, axes.map((a) => -(sp[a - 2] + 1))),
      ints(c, axes),
      ints(c, axes.map(() => -1)),
    ]);
  return op1(c, "Conv", [flip(gT, gAxes, o.outSp), flip(xT, xAxes, o.inSp)], {
    pads: [...qBegin, ...qEnd],
  });
}

/**
 * y[n, m, o] = sum_{c, k} x[n, c, o s + k d - p] w[m, c, k] (per group), so
 * dx is the transposed convolution of g with the same weights (its
 * output_padding restores the rows the forward stride dropped), and
 * dw[m, c, k] = sum_{n, o} g[n, m, o] x[n, c, o s + k d - p] is a
 * convolution of x (channels as batch) with g (batch as channels), stride
 * and dilation swapped, cropped to the kernel; one per group.
 */
function convGrad(c: GradContext) {
  const [x, w, bias] = c.node.inputs;
  const g = c.outputGrads[0];
  const xt = c.inputTypes[0]!;
  const wt = c.inputTypes[1]!;
  const n = xt.shape.length - 2;
  const attrs = c.node.attrs;
  const ones = new Array<number>(n).fill(1);
  const strides = (attrs.strides as number[] | undefined) ?? ones;
  const dil = (attrs.dilations as number[] | undefined) ?? ones;
  const group = (attrs.group as number | undefined) ?? 1;
  const kernel = (attrs.kernel_shape as number[] | undefined) ??
    wt.shape.slice(2).map((d, i) => needStatic(d, "Conv", `kernel dim ${i}`));
  const inSp = xt.shape.slice(2).map((d, i) => needStatic(d, "Conv", `input spatial dim ${i}`));
  const outSp = c.outputTypes[0].shape.slice(2).map((d, i) =>
    needStatic(d, "Conv", `output spatial dim ${i}`)
  );
  const pads = explicitPads(attrs, inSp, outSp, kernel, strides, dil);
  const outputPadding = inSp.map((h, i) =>
    h - (strides[i] * (outSp[i] - 1) + (kernel[i] - 1) * dil[i] + 1 - pads[i] - pads[i + n])
  );
  const dX = op1(c, "ConvTranspose", [g, w], {
    strides,
    dilations: dil,
    group,
    pads,
    output_padding: outputPadding,
  });

  const dB = bias
    ? op1(c, "ReduceSum", [g, ints(c, [0, ...Array.from({ length: n }, (_, i) => i + 2)])], {
      keepdims: 0,
    })
    : undefined;
  const perm = [1, 0, ...Array.from({ length: n }, (_, i) => i + 2)];
  const xT = op1(c, "Transpose", [x], { perm });
  const gT = op1(c, "Transpose", [g], { perm });
  const flipped = flippedWeightGrad(c, xT, gT, {
    group,
    strides,
    dil,
    pads,
    kernel,
    inSp,
    outSp,
    batch: xt.shape[0],
    channelsIn: needStatic(xt.shape[1], "Conv", "input channels"),
    channelsOut: needStatic(wt.shape[0], "Conv", "output channels"),
  });
  if (flipped) return [dX, flipped, dB];
  const xs = group === 1 ? [xT] : c.op("Split", [xT], { axis: 0 }, { nOutputs: group });
  const gs = group === 1 ? [gT] : c.op("Split", [gT], { axis: 0 }, { nOutputs: group });
  const spatialAxes = ints(c, Array.from({ length: n }, (_, i) => i + 2));
  // The correlation can run past the kernel at the end (rows the forward stride never reached).
  // Trimming the end padding drops those positions in the Conv itself; where the padding is too
  // small for that, the result is cropped with a Slice.
  const wPads = [...pads];
  let crop = false;
  for (let i = 0; i < n; i++) {
    const span = (outSp[i] - 1) * strides[i] + 1;
    const positions = Math.floor((inSp[i] + pads[i] + pads[i + n] - span) / dil[i]) + 1;
    const excess = positions - kernel[i];
    if (excess <= 0) continue;
    const trimmed = pads[i + n] - excess * dil[i];
    if (trimmed >= 0) wPads[i + n] = trimmed;
    else crop = true;
  }
  const parts = xs.map((xp, i) => {
    const full = op1(c, "Conv", [xp, gs[i]], {
      strides: dil,
      dilations: strides,
      pads: crop ? pads : wPads,
    });
    return crop
      ? op1(c, "Slice", [full, ints(c, new Array(n).fill(0)), ints(c, kernel), spatialAxes])
      : full;
  });
  const dWt = parts.length === 1 ? parts[0] : op1(c, "Concat", parts, { axis: 1 });
  const dW = op1(c, "Transpose", [dWt], { perm });
  return [dX, dW, dB];
}
