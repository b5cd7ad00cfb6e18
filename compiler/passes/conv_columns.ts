/**
 * conv_columns: a training step's convolution on small maps as one Gemm
 * over the whole batch's im2col columns.
 */
import type { Graph, Node } from "../ir/graph.ts";
import type { Expr, ExprGraph } from "../ir/expr.ts";
import { numel, setNumber, type Tensor, zeros } from "../ir/tensor.ts";
import { convGradTuning } from "../ops/conv.ts";
import { definePass } from "./context.ts";
import { expandInPlace } from "./expand.ts";
import { pointwiseGemmOf } from "./pointwise_gemm.ts";
import { constantTable, type ConvGeometry, convGeometry, plain } from "./match.ts";

/**
 * Which convolutions become a Gemm: at most `convGradTuning.columnsMaxPositions` output
 * positions per sample (the weight gradient then reads the same columns), at least
 * `minChannels` input channels, at most `maxTaps` kernel taps (the one-hot kernel and the
 * columns grow with them).
 */
export const convColumnsTuning = { minChannels: 16, maxTaps: 25 };

/**
 * onnxruntime runs a Conv whose weight is not a constant (every convolution
 * of a training step: its weight is a parameter) as an im2col and a Gemm per
 * sample, [M, (C, K)] by [(C, K), O] with O the output positions: on small
 * maps a product a few columns wide (O = 4 at 2x2) that reads the whole
 * weight once per sample. With the batch's columns side by side,
 *
 *   y[n, m, o] = sum_{c, k} w[m, (c, k)] x[n, c, o s + k d - p]
 *              = (W cols)[m, (o, n)],   cols[(c, k), (o, n)] = x[n, c, o s + k d - p]
 *
 * is one Gemm of W [M, (C, K)] by the columns [(C, K), (O, N)], which reads
 * the weight once, then y = Transpose(Reshape(W cols, [M, o..., N]), [N, M, o...]).
 * The columns come from x as conv.ts's `colsWeightGrad` builds them for the
 * weight gradient (x transposed to C single-channel images [i..., N] and a Conv
 * with the one-hot kernel [K, 1, k..., 1]), the same nodes on the same
 * constants, so that cse computes them once for both. A bias is the Gemm's C,
 * as [M, 1]. On maps of one position with a kernel of one tap (ResNet-18's and
 * MobileNetV2's last stages at 32x32, after trim_conv_taps) the columns are x
 * itself: y = Gemm(x as [N, C], w as [M, C]; transB) as [N, M, 1...], no
 * transposes (the Reshape of x that conv.ts's `pixelGrads` reads as well). On an output
 * map of one position from a larger input (ResNet-18's first block of layer 4 at 32x32),
 * O = 1 and y[n, m] = (cols^T W^T)[n, m]: one Gemm with transA and transB writes [N, M]
 * and a Reshape makes it [N, M, 1...], no Transpose.
 *
 * Batch 16, 2 threads, fastest of 40 runs on a loaded machine (Conv against
 * the columns' Gemm, the columns' Conv included): 256 channels at 2x2 1.58
 * against 0.33 ms; 128 to 256 at 4x4, stride 2 0.59 against 0.22; 128 at 4x4
 * 0.56 against 0.49; 64 to 128 at 8x8, stride 2 0.28 against 0.25; but 64 at
 * 8x8 (64 positions a sample) 0.53 against 0.63, and the 7x7 stem at 32x32
 * 0.58 against 0.90: hence `maxPositions`. The sums are the Conv's, in
 * another order.
 *
 * Runs in train mode on a built step (`trainStepPipeline`, before cse): the
 * gradients are derived from the Conv, not from its columns. A Conv of a
 * constant weight is left alone (onnxruntime's blocked layout serves it, and
 * the one-hot Convs of the columns are such). Conditions: ungrouped, 1-D or
 * 2-D, static channels and maps.
 */
export const convColumns = definePass({ id: "conv_columns", modes: ["train"] }, (g, ctx) => {
  const consts = constantTable(g, ctx);
  const t = convColumnsTuning;
  const candidates = g.nodes.filter((n) => plain(n)?.op === "Conv" && applies(g, n, consts, t));
  if (candidates.length === 0) return false;
  const eyes = oneHotKernels(g, consts);
  expandInPlace(
    g,
    ctx,
    candidates,
    { tag: "columns", constants: "columns" },
    (e, conv) => rewrite(g, e, eyes, conv),
  );
  return true;
});

/** Ungrouped 1-D and 2-D convolutions of static sizes. */
function geometry(g: Graph, conv: Node): ConvGeometry | undefined {
  const p = convGeometry(g, conv);
  return p && p.group === 1 && p.n <= 2 ? p : undefined;
}

function applies(
  g: Graph,
  conv: Node,
  consts: Map<string, Tensor>,
  t: typeof convColumnsTuning,
): boolean {
  if (consts.has(conv.inputs[1])) return false;
  const p = geometry(g, conv);
  return !!p && numel(p.outSp) <= convGradTuning.columnsMaxPositions &&
    p.channelsIn >= t.minChannels &&
    numel(p.kernel) <= t.maxTaps;
}

/**
 * The one-hot kernel that the weight gradient's columns of x use already (a Conv of that
 * kernel reading Reshape(Transpose(x))), by x and the kernel's shape: the columns built here
 * read the same constant, so that cse merges the two.
 */
function oneHotKernels(g: Graph, consts: Map<string, Tensor>): Map<string, string> {
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const found = new Map<string, string>();
  for (const n of g.nodes) {
    if (plain(n)?.op !== "Conv") continue;
    const t = consts.get(n.inputs[1]);
    if (!t || t.shape.length < 4 || t.shape[1] !== 1 || t.shape.at(-1) !== 1) continue;
    const reshape = producer.get(n.inputs[0]);
    const transpose = reshape?.op === "Reshape" ? producer.get(reshape.inputs[0]) : undefined;
    if (transpose?.op !== "Transpose") continue;
    const key = kernelKey(transpose.inputs[0], t.dtype, t.shape);
    if (!found.has(key) && sameTensor(t, oneHot(t.dtype, t.shape.slice(2, -1)))) {
      found.set(key, n.inputs[1]);
    }
  }
  return found;
}

const kernelKey = (x: string, dtype: string, shape: readonly (number | string)[]) =>
  `${x}\u0000${dtype}:${shape.join(",")}`;

/** The one-hot kernel [K, 1, k..., 1]: output channel k copies tap k. */
function oneHot(dtype: Tensor["dtype"], kernel: number[]): Tensor {
  const taps = numel(kernel);
  const eye = zeros(dtype, [taps, 1, ...kernel, 1]);
  for (let k = 0; k < taps; k++) setNumber(eye, k * taps + k, 1);
  return eye;
}

function sameTensor(a: Tensor, b: Tensor): boolean {
  if (a.dtype !== b.dtype || a.shape.join() !== b.shape.join()) return false;
  const x = a.data as ArrayLike<number>, y = b.data as ArrayLike<number>;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function rewrite(g: Graph, e: ExprGraph, eyes: Map<string, string>, conv: Node): Expr {
  const p = geometry(g, conv)!;
  const [x, w, bias] = conv.inputs;
  const { n, channelsIn: c, channelsOut: m } = p;
  const taps = numel(p.kernel);
  const oneTap = taps === 1 && p.strides.every((s) => s === 1) && p.pads.every((v) => v === 0);
  const spatial = Array.from({ length: n }, (_, i) => i + 2);
  let y: Expr;
  if (oneTap && numel(p.inSp) === 1) {
    y = pointwiseGemmOf(e, conv, p);
  } else {
    let cols = e.v(x).transpose([1, ...spatial, 0]).reshape([c, 1, ...p.inSp, -1]);
    if (!oneTap) {
      const eye = oneHot(g.types.get(x)!.dtype, p.kernel);
      const key = kernelKey(x, eye.dtype, eye.shape);
      const kernel = eyes.get(key) ?? e.constant(eye).name;
      eyes.set(key, kernel);
      cols = cols.op("Conv", [e.v(kernel)], {
        strides: [...p.strides, 1],
        dilations: [...p.dil, 1],
        pads: [...p.pads.slice(0, n), 0, ...p.pads.slice(n), 0],
      });
    }
    if (numel(p.outSp) === 1) {
      // One output position: (W cols)^T = cols^T W^T is [N, M] already, NCHW without a Transpose.
      const cBias = bias ? [e.v(bias)] : [];
      y = cols.reshape([c * taps, -1]).op("Gemm", [e.v(w).reshape([m, -1]), ...cBias], {
        transA: 1,
        transB: 1,
      }).reshape([0, m, ...p.outSp]);
    } else {
      const cBias = bias ? [e.v(bias).reshape([m, 1])] : [];
      y = e.v(w).reshape([m, -1]).op("Gemm", [cols.reshape([c * taps, -1]), ...cBias])
        .reshape([m, ...p.outSp, -1]).transpose([n + 1, 0, ...spatial.map((a) => a - 1)]);
    }
  }
  return y;
}
