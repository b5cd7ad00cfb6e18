/**
 * Conv (opset 11): X (N, C, D1..Dn), W (M, C/group, k1..kn), optional B (M)
 * -> Y (N, M, O1..On) with Oi from `windowOutput`.
 */
import { formatType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
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
import type { GradContext } from "./op_def.ts";
import { gradOf, inputOf, needStatic } from "./grad_util.ts";
import type { Expr } from "../ir/expr.ts";
import { numel, setNumber, zeros } from "../ir/tensor.ts";
import { diag } from "../diagnostics.ts";

export const convOp: OpDef = {
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
        ...diag(
          "DLM0228",
          "Conv",
          "weight rank to equal input rank",
          `input ${formatType(x)} has ${x.shape.length} dims, weight ${
            formatType(w)
          } has ${w.shape.length}`,
        ),
      );
    }
    const group = intAttr(ctx.attrs, "group", 1);
    if (group < 1) throw new ShapeError(...diag("DLM0227", "Conv", "group >= 1", group));
    const need = dimMul(w.shape[1], group);
    const c = x.shape[1];
    if (typeof c === "number" && typeof need === "number" && c !== need) {
      throw new ShapeError(
        ...diag(
          "DLM0228",
          "Conv",
          "input channels to equal weight channels x group",
          `input ${formatType(x)} has ${c}, weight ${formatType(w)} needs ${need}`,
        ),
      );
    }
    const m = w.shape[0];
    if (typeof m === "number" && m % group !== 0) {
      throw new ShapeError(
        ...diag(
          "DLM0228",
          "Conv",
          `output channels to be a multiple of group ${group}`,
          `weight ${formatType(w)} has ${m}`,
        ),
      );
    }
    const kernel = w.shape.slice(2);
    const ks = intsAttr(ctx.attrs, "kernel_shape");
    if (ks && (ks.length !== kernel.length || ks.some((k, i) => !dimEquals(k, kernel[i])))) {
      throw new ShapeError(
        ...diag(
          "DLM0228",
          "Conv",
          "kernel_shape to match the weight",
          `kernel_shape is [${ks.join(", ")}], weight ${formatType(w)} has [${kernel.join(", ")}]`,
        ),
      );
    }
    if (b) {
      if (
        b.shape.length !== 1 ||
        (typeof b.shape[0] === "number" && typeof m === "number" && b.shape[0] !== m)
      ) {
        throw new ShapeError(
          ...diag(
            "DLM0227",
            "Conv",
            `bias of shape [${m}] to match weight ${formatType(w)}`,
            formatType(b),
          ),
        );
      }
    }
    const spatial = windowOutput("Conv", x, ks ?? kernel, ctx.attrs, false);
    return [{ dtype, shape: [x.shape[0], m, ...spatial] }];
  },
};

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

/** A convolution's static geometry, as convGrad computes it for the gradient forms. */
interface ConvShape {
  group: number;
  strides: number[];
  dil: number[];
  pads: number[];
  kernel: number[];
  inSp: number[];
  outSp: number[];
  channelsIn: number;
  channelsOut: number;
}

/**
 * A pointwise convolution: ungrouped, a kernel of one tap, stride 1 and no padding. Its
 * output positions are its input positions, o = i, so im2col's columns are x itself (the
 * one-hot kernel's Conv would copy x and change nothing).
 */
function isPointwise(p: ConvShape): boolean {
  return p.group === 1 && p.kernel.every((k) => k === 1) && p.strides.every((s) => s === 1) &&
    p.pads.every((v) => v === 0);
}

/**
 * im2col: a Conv of x with a one-hot kernel (the forward's strides,
 * dilations and padding) gives every input channel shifted by every tap,
 * [N, (C, K), o...]. `depthwise`: a Conv of C groups with C*K output
 * channels; else every sample's every channel on its own ([N*C, 1, i...])
 * with K output channels. onnxruntime turns the second into its blocked
 * layout (a constant kernel) and reorders the output back, which costs more
 * than it saves on large maps; on small maps the second is the faster (512
 * channels at 1x1, batch 32: 3.1 against 4.9 ms for the whole weight
 * gradient). The kernel multiplies by 0 and 1 only: exact for finite x.
 */
function im2col(x: Expr, p: ConvShape, depthwise: boolean): Expr {
  if (isPointwise(p)) return x;
  const e = x.graph;
  const dtype = x.dtype;
  const taps = numel(p.kernel);
  const channels = depthwise ? p.channelsIn : 1;
  // One-hot kernel [C*K, 1, k...]: output channel c*K + k copies input channel c at tap k.
  const eye = zeros(dtype, [channels * taps, 1, ...p.kernel]);
  for (let ch = 0; ch < channels; ch++) {
    for (let k = 0; k < taps; k++) setNumber(eye, (ch * taps + k) * taps + k, 1);
  }
  const attrs = { group: channels, strides: p.strides, dilations: p.dil, pads: p.pads };
  if (depthwise) return x.op("Conv", [e.constant(eye)], attrs);
  const single = x.reshape([-1, 1, ...p.inSp]);
  const cols = single.op("Conv", [e.constant(eye)], attrs);
  return cols.reshape([-1, p.channelsIn * taps, ...p.outSp]);
}

/**
 * The weight gradient of an ungrouped 1-D or 2-D convolution with large
 * maps from im2col's columns per sample:
 *
 *   dW[m, (c, k)] = sum_n g[n, m, :] . cols[n, (c, k), :]
 *
 * is one batched MatMul over the output positions (transposes that
 * onnxruntime folds into it) and a sum over the batch. Where the maps are at
 * least half as large as the output channels, the [N, M, C*K] product is no
 * larger than cols and this runs fastest: 8.3 ms for ResNet-18's 64-channel
 * 3x3 layers at 32x32 and batch 16 (fastest of 20 runs), against 13.4 for
 * one Gemm over all columns and 26.9 for the Conv form. Undefined otherwise,
 * and for fewer than `convGradTuning.minChannels` input channels (a
 * network's first layer, where the Conv form is faster).
 */
function im2colWeightGrad(x: Expr, g: Expr, p: ConvShape): Expr | undefined {
  const n = p.kernel.length;
  const taps = numel(p.kernel);
  const positions = numel(p.outSp);
  const t = convGradTuning;
  if (n > 2 || p.group !== 1 || (t.force && t.force !== "im2col")) return undefined;
  // Where the step's forward runs on the batch's columns (passes/conv_columns.ts), the Gemm
  // form reads the same columns.
  if (!t.force && onColumns(p)) return undefined;
  if (!t.force && (p.channelsIn < t.minChannels || 2 * positions < p.channelsOut)) {
    return undefined;
  }
  const flat = (v: Expr, rows: number) => v.reshape([0, rows, -1]);
  const colsT = flat(im2col(x, p, true), p.channelsIn * taps).transpose([0, 2, 1]);
  const perSample = flat(g, p.channelsOut).matmul(colsT);
  return perSample.sum([0], false).reshape([p.channelsOut, p.channelsIn, ...p.kernel]);
}

/**
 * Whether passes/conv_columns.ts runs a training step's forward of this convolution as a Gemm
 * over the batch's columns (its conditions, less the weight being a parameter, which it is
 * wherever a weight gradient is built): the columns then exist already.
 */
function onColumns(p: ConvShape): boolean {
  const t = convGradTuning;
  return p.group === 1 && p.kernel.length <= 2 && numel(p.outSp) <= t.columnsMaxPositions &&
    p.channelsIn >= t.minChannels && numel(p.kernel) <= 25;
}

/**
 * Which forms build a convolution's gradients. Weight gradient: im2col and
 * cols need `minChannels` input channels, cols also `colsMinWork`
 * multiply-adds per sample (see those functions). Input gradient (see
 * `dataGrad`): columns where the input maps have at most 1/`colsMinChannelRatio`
 * as many positions as there are output channels (and col2im's matrix at most
 * `col2imMaxElements`), else a flipped Conv where the weight has no more
 * elements than the input, else a ConvTranspose. `force` and `forceData` make
 * one form apply wherever it can (tests check each on small convolutions).
 * `columnsMaxPositions`: the output positions per sample up to which a training step's
 * forward Conv becomes a Gemm over the batch's columns (passes/conv_columns.ts, which reads
 * it), and the weight gradient takes the Gemm over those columns rather than im2col per sample.
 */
export const convGradTuning: {
  minChannels: number;
  columnsMaxPositions: number;
  colsMinWork: number;
  colsMinChannelRatio: number;
  col2imMaxElements: number;
  force?: "im2col" | "cols" | "conv";
  forceData?: "transpose" | "flipped" | "cols";
} = {
  minChannels: 16,
  columnsMaxPositions: 16,
  colsMinWork: 5e5,
  colsMinChannelRatio: 2,
  col2imMaxElements: 1 << 16,
};

/**
 * The weight gradient of an ungrouped 1-D or 2-D convolution as one Gemm
 * over all of im2col's columns in [(C, K), (o..., N)] against the output
 * gradient gO ([M, (o..., N)], which the input gradient's columns share):
 *
 *   dW[m, (c, k)] = sum_{o, n} gO[m, (o, n)] cols[(c, k), (o, n)]
 *
 * gives dW as [M, (C, K)], the weight's own layout (Gemm transB). The
 * columns come out in that layout from x itself: x transposed to [C, i...,
 * N] is C single-channel images of i... x N positions, and a Conv with the
 * one-hot kernel [K, 1, k..., 1] (the forward's strides, dilations and pads
 * on i..., none on N) gives
 *
 *   cols[c, tap, o..., n] = x[n, c, o s + tap d - p]
 *
 * so only x (C N i elements) is transposed, not the columns (C K N o): with
 * im2col per sample and the columns transposed from [N, (C, K), o...] to
 * [(C, K), o..., N], that Transpose was ResNet-18's costliest (0.8-1.0 ms
 * each for layer2's 128 channels at 4x4, batch 16; shared machine). The
 * kernel multiplies by 0 and 1 only: exact for finite x.
 *
 * For small maps and many channels this beats the Conv form, which
 * correlates with an image-sized kernel into a kernel-sized output (a Gemm
 * [M x N*o*C] by [.. x k], k = 9 columns, per input channel) that MLAS runs
 * slowly, and im2col per sample, whose [N, M, C*K] product grows with the
 * channels. ResNet-18's 3x3 layers at batch 16 (fastest of 20 runs, columns
 * per sample then): 256 channels at 8x8 6.7 ms (a Gemm per tap and a Concat
 * 9.7, the Conv form 17.0), 512 at 4x4 9.1 (16.3, 14.1), 512 at 1x1 and
 * batch 32 3.2 (8.3, 4.7). Undefined for small convolutions (the Conv form
 * has fewer nodes and is no slower), few input channels, grouped ones, and
 * kernels of more than 25 taps.
 */
function colsWeightGrad(x: Expr, gO: () => Expr, p: ConvShape): Expr | undefined {
  const e = x.graph;
  const n = p.kernel.length;
  const taps = numel(p.kernel);
  const work = p.channelsOut * p.channelsIn * taps * numel(p.outSp);
  const t = convGradTuning;
  const pointwise = isPointwise(p);
  if (n > 2 || p.group !== 1 || taps > 25 || (t.force && t.force !== "cols")) return undefined;
  // A pointwise layer's columns are x transposed, with no Conv: fewer nodes than the Conv form
  // at any size, and a Gemm into which fuse_gemm_accumulate folds SGD's momentum. Where the
  // forward runs on the columns (`onColumns`), they and g's [M, (o..., N)] (the input
  // gradient's) are there already, whatever the work: the weight gradient is one Gemm on them,
  // where the Conv form transposed x and g, sliced x, correlated and transposed dW (ResNet-18's
  // stride-2 1x1 downsamples at 32x32, 131,072 multiply-adds a sample: 5 nodes then, 1 now).
  if (
    !t.force && !pointwise && !onColumns(p) &&
    (p.channelsIn < t.minChannels || work < t.colsMinWork)
  ) {
    return undefined;
  }
  const spatial = Array.from({ length: n }, (_, i) => i + 2);
  const images = x.transpose([1, ...spatial, 0]).reshape([p.channelsIn, 1, ...p.inSp, -1]);
  let cols = images;
  if (!pointwise) {
    const eye = zeros(x.dtype, [taps, 1, ...p.kernel, 1]);
    for (let k = 0; k < taps; k++) setNumber(eye, k * taps + k, 1);
    cols = images.op("Conv", [e.constant(eye)], {
      strides: [...p.strides, 1],
      dilations: [...p.dil, 1],
      pads: [...p.pads.slice(0, n), 0, ...p.pads.slice(n), 0],
    });
  }
  const dW = gO().reshape([p.channelsOut, -1])
    .op("Gemm", [cols.reshape([p.channelsIn * taps, -1])], { transB: 1 });
  return dW.reshape([p.channelsOut, p.channelsIn, ...p.kernel]);
}

/**
 * The gradients of a pointwise convolution on maps of one position (the last stages of a CNN
 * on small images, as MobileNetV2's and, after trim_conv_taps, ResNet-18's at 32x32): every
 * spatial dim is 1, so with X = x as [N, C], W = w as [M, C] and G = g as [N, M],
 *
 *   y[n, m] = sum_c X[n, c] W[m, c],  y = X W^T   =>   dX = G W,   dW = G^T X
 *
 * two Gemms on Reshapes that move no element, where the other forms transpose x and g (copies)
 * and correlate [C, N] images with [M, N] kernels or multiply their transposes. Undefined
 * otherwise, and while a test forces a form.
 */
function pixelGrads(x: Expr, w: Expr, g: Expr, p: ConvShape): { dX: Expr; dW: Expr } | undefined {
  const t = convGradTuning;
  if (t.force || t.forceData || !isPointwise(p) || numel(p.inSp) !== 1) return undefined;
  // Every dim but the batch given: the products keep static shapes (fuse_gemm_accumulate needs them).
  const g2 = g.reshape([0, p.channelsOut]);
  const dX = g2.op("Gemm", [w.reshape([p.channelsOut, p.channelsIn])]).reshape([
    0,
    p.channelsIn,
    ...p.inSp,
  ]);
  const dW = g2.op("Gemm", [x.reshape([0, p.channelsIn])], { transA: 1 })
    .reshape([p.channelsOut, p.channelsIn, ...p.kernel]);
  return { dX, dW };
}

/** A kernel tap's position, last dim fastest. */
function tapPosition(tap: number, kernel: number[]): number[] {
  const at: number[] = [];
  for (let i = kernel.length - 1, r = tap; i >= 0; i--) {
    at[i] = r % kernel[i];
    r = Math.floor(r / kernel[i]);
  }
  return at;
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
  xT: Expr,
  gT: Expr,
  o: ConvShape & { batch: string | number },
): Expr | undefined {
  const e = xT.graph;
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
  const flip = (v: Expr, axes: number[], sp: number[]) =>
    axes.length === 0 ? v : v.op("Slice", [
      e.ints(axes.map(() => -1)),
      e.ints(axes.map((a) => -(sp[a - 2] + 1))),
      e.ints(axes),
      e.ints(axes.map(() => -1)),
    ]);
  return flip(gT, gAxes, o.outSp).op("Conv", [flip(xT, xAxes, o.inSp)], {
    pads: [...qBegin, ...qEnd],
  });
}

/**
 * A Conv weight [(G, m), c, k...] as [(G, c), m, k...]: its input and output
 * channels swapped within each group (m < M/G, c < C/G).
 */
function swapGroupChannels(w: Expr, p: ConvShape): Expr {
  const spatial = p.kernel.map((_, i) => i + 2);
  if (p.group === 1) return w.transpose([1, 0, ...spatial]);
  const perGroupIn = p.channelsIn / p.group, perGroupOut = p.channelsOut / p.group;
  if (perGroupIn === 1 && perGroupOut === 1) return w;
  const swapped = perGroupIn === 1 || perGroupOut === 1
    ? w
    : w.reshape([p.group, perGroupOut, perGroupIn, ...p.kernel])
      .transpose([0, 2, 1, ...spatial.map((a) => a + 1)]);
  return swapped.reshape([p.channelsIn, perGroupOut, ...p.kernel]);
}

/**
 * The input gradient of a convolution, dx[n, c, i] = sum_{m, k} g[n, m, o]
 * w[m, c, k] over o s + k d - p = i, in one of three forms:
 *
 * - "transpose": the transposed convolution of g with the same weights (its
 *   output_padding restores the rows the forward stride dropped). Any
 *   convolution. onnxruntime runs it as a Gemm and a col2im per image, a few
 *   columns wide on small maps.
 * - "flipped": with stride 1, a Conv of g with the weight's channels swapped
 *   within each group and its taps reversed, padded d (k - 1) - p, and the
 *   forward's group: with channel c of group j written (j, c) (see convGrad),
 *
 *     dx[n, (j, c), i] = sum_{m, k} g[n, (j, m), i + p - k d] w[(j, m), c, k]
 *                      = Conv(g, w'; group G)[n, (j, c), i],
 *     w'[(j, c), m, k] = w[(j, m), c, K-1-k]
 *
 *   (a Conv with group G reads input channels (j, m) for output channel
 *   (j, c)). w' is w as [G, M/G, C/G, k...] with axes 1 and 2 exchanged (a
 *   mere reshape where either is 1, as in a depthwise layer), taps reversed.
 *   MLAS runs it about as fast as the forward; the weight's transpose and
 *   flip make it lose once the weight is larger than dx. For grouped layers
 *   it beats the ConvTranspose too (batch 16, fastest of 60 runs, noisy
 *   machine): depthwise 96 channels at 16x16 1.3 against 2.2 ms, 960 at 8x8
 *   2.1 against 4.7; 32 groups of 4 channels at 16x16 0.8 against 1.8, of 16
 *   at 4x4 0.7 against 0.8; but 32 groups of 32 at 2x2, where the weight is
 *   4x dx, 2.3 against 1.8.
 * - "cols": without groups, one Gemm for every tap's rows of dx at once,
 *   dcols[(c, k, o), n] = W[m, (c, k)]^T g[m, (o, n)], then col2im as one
 *   batched MatMul by a constant 0/1 matrix [i, (k, o)] (which input
 *   position each tap's output position reads, strides and padding
 *   included). That product costs i/m of the Gemm, so it serves maps of
 *   fewer positions than half the output channels; its matrix is bounded by
 *   `col2imMaxElements` (8x8 maps for a 3x3 kernel).
 *
 * ResNet-18's 3x3 layers at batch 16 (fastest of 20 runs; transpose,
 * flipped, cols): 64 channels at 32x32 10.8, 7.2, 18.2 ms (cols by pads and a
 * sum then); 256 at 8x8 9.4, 8.5, 6.9; 512 at 4x4 11.5, 17.9, 7.1; 256 at 4x4
 * 4.5, 4.2, 1.7; 256 at 8x8 to 512 at 4x4, stride 2, 8.8, -, 4.1. LeNet's
 * second layer (16 to 32 channels at 4x4, batch 32): 0.27, 0.20, 0.11.
 * Hence the choice (`convGradTuning`; a symbolic batch counts as 32).
 */
function dataGrad(
  g: Expr,
  w: Expr,
  gO: () => Expr,
  p: ConvShape & { batch: string | number; outputPadding: number[] },
): Expr {
  const e = g.graph;
  const n = p.kernel.length;
  const t = convGradTuning;
  const taps = numel(p.kernel);
  const inputs = numel(p.inSp), positions = numel(p.outSp);
  const flippable = p.strides.every((s) => s === 1) &&
    p.pads.every((v, i) => v <= p.dil[i % n] * (p.kernel[i % n] - 1));
  // col2im's matrix stays small: maps of up to 8x8 for a 3x3 kernel.
  const columns = p.group === 1 && inputs * taps * positions <= t.col2imMaxElements;
  const batch = typeof p.batch === "number" ? p.batch : ASSUMED_BATCH;
  const weight = p.channelsOut * (p.channelsIn / p.group) * taps;
  const dx = batch * p.channelsIn * inputs;
  const applies = { transpose: true, flipped: flippable, cols: columns };
  const form = t.forceData && applies[t.forceData]
    ? t.forceData
    : columns && inputs * t.colsMinChannelRatio <= p.channelsOut
    ? "cols"
    : flippable && weight <= dx
    ? "flipped"
    : "transpose";
  const spatial = Array.from({ length: n }, (_, i) => i + 2);
  if (form === "flipped") {
    // A kernel of one tap is its own flip.
    const swapped = swapGroupChannels(w, p);
    const reversed = taps === 1 ? swapped : swapped.op("Slice", [
      e.ints(spatial.map(() => -1)),
      e.ints(spatial.map((a) => -(p.kernel[a - 2] + 1))),
      e.ints(spatial),
      e.ints(spatial.map(() => -1)),
    ]);
    return g.op("Conv", [reversed], {
      dilations: p.dil,
      pads: p.pads.map((v, i) => p.dil[i % n] * (p.kernel[i % n] - 1) - v),
      ...(p.group === 1 ? {} : { group: p.group }),
    });
  }
  if (form === "cols") {
    // g as [M, (o, N)]: the Gemm's columns keep (k, o) together for col2im.
    const dcols = w.reshape([p.channelsOut, -1])
      .op("Gemm", [gO().reshape([p.channelsOut, -1])], { transA: 1 });
    // col2im as a 0/1 matrix [i, (k, o)]: output position o reads input o s + k d - p.
    const place = zeros(g.dtype, [inputs, taps * positions]);
    for (let tap = 0; tap < taps; tap++) {
      const at = tapPosition(tap, p.kernel);
      for (let o = 0; o < positions; o++) {
        const od = tapPosition(o, p.outSp);
        let i = 0;
        for (let d = 0; d < n && i >= 0; d++) {
          const id = od[d] * p.strides[d] + at[d] * p.dil[d] - p.pads[d];
          i = id < 0 || id >= p.inSp[d] ? -1 : i * p.inSp[d] + id;
        }
        if (i >= 0) setNumber(place, (i * taps + tap) * positions + o, 1);
      }
    }
    const perChannel = dcols.reshape([p.channelsIn, taps * positions, -1]);
    const dxT = e.constant(place).matmul(perChannel);
    const split = dxT.reshape([p.channelsIn, ...p.inSp, -1]);
    return split.transpose([n + 1, 0, ...spatial.map((a) => a - 1)]);
  }
  return g.op("ConvTranspose", [w], {
    strides: p.strides,
    dilations: p.dil,
    group: p.group,
    pads: p.pads,
    output_padding: p.outputPadding,
  });
}

/**
 * y[n, m, o] = sum_{c, k} x[n, c, o s + k d - p] w[m, c, k] (per group), so
 * dx is a transposed convolution of g (see `dataGrad` for its forms), and
 * dw[m, c, k] = sum_{n, o} g[n, m, o] x[n, c, o s + k d - p]: from im2col's
 * columns where that is faster, else a convolution of x (channels as batch)
 * with g (batch as channels), stride and dilation swapped, cropped to the
 * kernel.
 *
 * With G groups, write a channel of group j as (j, c), c < C/G, and an
 * output channel as (j, m), m < M/G. Then
 *
 *   dw[(j, m), c, k] = sum_{n, o} g[n, (j, m), o] x[n, (j, c), o s + k d - p]
 *
 * Take x as [N, G, C/G, i...] transposed to X' = [C/G, G, N, i...] and read
 * as [C/G, (G, N), i...] (channels within a group become the batch, the
 * batch within each group the channels), and g transposed to W' = [M, N,
 * o...] as the kernel. A Conv of X' by W' with group G pairs output channel
 * (j, m) with input channels (j, n), n < N, so with strides d and
 * dilations s
 *
 *   Conv(X', W')[c, (j, m), k] = sum_{n, o} X'[c, (j, n), k d + o s - p] W'[(j, m), n, o]
 *                              = dw[(j, m), c, k]
 *
 * and dw is its transpose, [M, C/G, k...]: one Conv whatever G. For a
 * depthwise layer (C/G = 1) X' is x transposed. Against the other forms
 * (batch 16, fastest of 30 runs on a shared, noisy machine): depthwise 96
 * channels at 16x16 2.0 ms, 960 at 8x8 7.3, with a channel multiplier of 2
 * at 16x16 2.2, where one Conv per group (a Split, C Convs and a Concat)
 * took 4.4, 14.4 and 8.7 and im2col's columns times g summed over batch and
 * positions (a Mul and a ReduceSum) 2.1, 9.2 and 2.9, with a constant
 * one-hot kernel of C*K*K elements; 32 groups of 8 channels at 8x8 1.5 as
 * for the Conv per group (the gain there is the graph: one node, not 32).
 */
function convGrad(c: GradContext) {
  const e = c.e;
  const bias = c.node.inputs[2];
  const x = inputOf(c, 0), w = inputOf(c, 1), g = gradOf(c, 0);
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
  const perm = [1, 0, ...Array.from({ length: n }, (_, i) => i + 2)];
  const channelsIn = needStatic(xt.shape[1], "Conv", "input channels");
  const channelsOut = needStatic(wt.shape[0], "Conv", "output channels");
  const shape = { group, strides, dil, pads, kernel, inSp, outSp, channelsIn, channelsOut };
  // g as [M, o..., N], for the column forms of both gradients.
  let gPositionsFirst: Expr | undefined;
  const gO = () =>
    gPositionsFirst ??= g.transpose([1, ...Array.from({ length: n }, (_, i) => i + 2), 0]);
  const pixels = pixelGrads(x, w, g, shape);
  const dX = pixels?.dX.name ??
    dataGrad(g, w, gO, { ...shape, batch: xt.shape[0], outputPadding }).name;

  const dB = bias
    ? g.sum([0, ...Array.from({ length: n }, (_, i) => i + 2)], false).name
    : undefined;
  if (pixels) return [dX, pixels.dW.name, dB];
  const cols = im2colWeightGrad(x, g, shape) ?? colsWeightGrad(x, gO, shape);
  if (cols) return [dX, cols.name, dB];
  const perGroup = channelsIn / group;
  // x as [C/G, G, N, i...]; without groups, or with one channel a group, a plain transpose.
  const xT = group === 1 || perGroup === 1
    ? x.transpose(perm)
    : x.reshape([0, group, perGroup, ...inSp])
      .transpose([2, 1, 0, ...Array.from({ length: n }, (_, i) => i + 3)]);
  const gT = g.transpose(perm);
  const flipped = flippedWeightGrad(xT, gT, { ...shape, batch: xt.shape[0] });
  if (flipped) return [dX, flipped.name, dB];
  // [C/G, (G, N), i...]: a Reshape with -1 keeps a symbolic batch.
  const xIn = group === 1 ? xT : xT.reshape([perGroup, -1, ...inSp]);
  // The correlation can run past the kernel at the end (rows the forward stride never reached):
  // over a padded length P it has floor((P - span) / d) + 1 positions, span = (o - 1) s + 1, and
  // `excess` more than the kernel's. Taking excess * d off the end of P drops exactly those, in
  // the end padding where it is large enough, else by slicing x's last rows off first
  // (dw[.., k] reads x at k d + o s - p only, so those rows never reach it). Slicing x costs
  // C N i elements; cropping the Conv's output instead (a Slice of C M (k + excess) elements) was
  // the slowest node of ResNet-18's step: its stride-2 1x1 downsample at 2x2 correlated [256, 16,
  // 2, 2] by [512, 16, 1, 1] into 2x2 taps and kept one (1.4 ms against 0.2 for that Conv).
  const wPads = [...pads];
  const xEnds = [...inSp];
  let crop = false;
  for (let i = 0; i < n; i++) {
    const span = (outSp[i] - 1) * strides[i] + 1;
    const positions = Math.floor((inSp[i] + pads[i] + pads[i + n] - span) / dil[i]) + 1;
    const excess = positions - kernel[i];
    if (excess <= 0) continue;
    const trimmed = pads[i + n] - excess * dil[i];
    // (Where the begin padding alone spans every position read, no row of x is: crop then.)
    if (inSp[i] + trimmed < 1) {
      crop = true;
      continue;
    }
    wPads[i + n] = Math.max(trimmed, 0);
    if (trimmed < 0) xEnds[i] = inSp[i] + trimmed;
  }
  const cut = xEnds.flatMap((end, i) => (end < inSp[i] ? [i] : []));
  const xKept = cut.length === 0 ? xIn : xIn.op("Slice", [
    e.ints(cut.map(() => 0)),
    e.ints(cut.map((i) => xEnds[i])),
    e.ints(cut.map((i) => i + 2)),
  ]);
  const full = xKept.op("Conv", [gT], {
    strides: dil,
    dilations: strides,
    pads: wPads,
    ...(group === 1 ? {} : { group }),
  });
  const dWt = crop
    ? full.op("Slice", [
      e.ints(new Array(n).fill(0)),
      e.ints(kernel),
      e.ints(Array.from({ length: n }, (_, i) => i + 2)),
    ])
    : full;
  // With one channel a group, [1, M, k...] to [M, 1, k...] moves no element: a Reshape.
  const dW = group > 1 && perGroup === 1
    ? dWt.reshape([channelsOut, 1, ...kernel])
    : dWt.transpose(perm);
  return [dX, dW.name, dB];
}
