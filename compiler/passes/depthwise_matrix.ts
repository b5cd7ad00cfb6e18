/**
 * depthwise_matrix: a training step's depthwise (or grouped) convolution on small maps as one
 * batched MatMul by per-channel (per-group) matrices.
 */
import type { Graph, Node } from "../ir/graph.ts";
import type { Expr, ExprGraph } from "../ir/expr.ts";
import { numel } from "../ir/tensor.ts";
import { tapMatrix } from "../ops/window.ts";
import { definePass } from "./context.ts";
import { expandInPlace } from "./expand.ts";
import { type ConvGeometry, convGeometry, plain } from "./match.ts";

export { tapMatrix };

/**
 * `maxPairs`: the most entries of a group's matrix, Ig I * Og O (for a depthwise layer the
 * (input position, output position) pairs per channel, I * O), for which a layer becomes
 * matrices (each channel's matrix has I * O entries, of which at most
 * K * O are taps and the rest zeros). MobileNetV2 at 32x32, batch 16 (depthwise layers at 16x16,
 * 8x8, 4x4 and 2x2), its step's nodes' fastest times summed (40 runs, 2 threads, idle machine):
 * every layer a Conv 29.2 ms; matrices up to 64 pairs (2x2 maps) 21.6, 256 (4x4) 19.5, 4096
 * (8x8) 18.9, 16384 (16x16 to 8x8) 19.6, 65536 (16x16) 20.5. Per layer, forward and both
 * gradients, Conv against matrices: 576 channels at 2x2 1.08 against 0.16 ms, 192 at 4x4 0.59
 * against 0.14, 144 at 8x8 1.12 against 0.85, 96 at 16x16 to 8x8 1.15 against 1.71.
 */
export const depthwiseMatrixTuning = { maxPairs: 4096 };

/**
 * onnxruntime runs a Conv with `group` C as one small im2col and product per group and sample:
 * N * C of them, whatever the map's size. On the small maps of a CNN's last stages that
 * overhead is the whole cost (MobileNetV2 at 32x32, batch 16: a 3x3 depthwise layer of 576
 * channels on 2x2 maps took 0.47 ms forward, 0.46 its input gradient and 0.16 its weight
 * gradient, for 0.3M multiply-adds). Per channel c a depthwise convolution is linear in that
 * channel's map alone: with i and o input and output positions (all spatial dims flattened)
 *
 *   y[n, c, o] = sum_k w[c, k] x[n, c, o s + k d - p] = sum_i T[c, o, i] x[n, c, i]
 *   T[c, o, i] = w[c, k]  where i = o s + k d - p for some tap k, else 0
 *
 * (for one o, distinct taps read distinct i, so an entry holds one tap or none), and
 *
 *   T = Reshape(W [C, K] . S, [C, O, I]),   S[k, (o, i)] = 1 where i = o s + k d - p
 *
 * with S a constant 0/1 matrix. With x in conv_columns' layout, [C, i..., N] as [C, I, N],
 *
 *   y = Transpose(Reshape(MatMul(T, Reshape(Transpose(x, [1, 2, .., 0]), [C, I, -1])),
 *                         [C, o..., -1]), [n+1, 0, 1, .., n])
 *
 * one MatMul batched over the channels ([O, I] by [I, N] each), whose gradients are batched
 * MatMuls too (dX = T^T dY, dT = dY X^T, dW = dT . S^T): no grouped Conv or ConvTranspose is
 * left, and columns_layout keeps runs of such layers, batch norms and conv_columns' Gemms in
 * that layout, with Transposes only at the runs' edges. Every product holds one nonzero term
 * (a tap times 1, or x times a tap), so the sums are the Conv's in another order; the 0/1
 * matrix is exact for finite weights. Tried and dropped: x as [N, C, 1, I] times T (no
 * Transposes) ran as slowly as the Conv (onnxruntime multiplies N * C pairs of small matrices);
 * a Mul of x as [N, C, I, 1] by T and a ReduceSum took twice the MatMul form's time.
 *
 * A grouped convolution (G groups of Ig input and Og output channels) is the same per group:
 *
 *   y[n, (g, og), o] = sum_{ig, i} T[g, (og, o), (ig, i)] x[n, (g, ig), i]
 *   T = Reshape(Transpose(Reshape(W [M Ig, K] . S, [G, Og, Ig, O, I]), [0, 1, 3, 2, 4]),
 *               [G, Og O, Ig I])
 *
 * with x as [G, Ig I, N] (C = G Ig channels in order) and y as [G, Og O, N] = [M, O, N]. Each
 * product then holds Ig nonzero terms at most per tap, the Conv's sum in another order.
 * ResNeXt-50 32x4d at 32x32, batch 16: layer 3's grouped 3x3 convolutions (32 groups of 16
 * channels on 2x2 maps, 4,096 entries a group), forward and both gradients with their
 * Transposes, took 3.4 ms each as Convs.
 *
 * Runs in train mode only, before the gradients are built (`beforeGradientsPipeline`, after
 * depthwise_scale, which makes one-tap layers a Mul): the gradients are derived from the
 * matrices; in eval mode a Conv keeps its weight's name and the batch norm folded into it.
 * Conditions: an f32 weight (onnxruntime's CPU MatMul is the float kernel measured), at least
 * 2 groups that divide the input and output channels, static channels, maps and kernel, and at
 * most `maxPairs` entries in each group's matrix (for a depthwise layer, position pairs).
 */
export const depthwiseMatrix = definePass(
  { id: "depthwise_matrix", modes: ["train"] },
  (g, ctx) => {
    const candidates = g.nodes.filter((n) => plain(n)?.op === "Conv" && geometry(g, n));
    if (candidates.length === 0) return false;
    expandInPlace(
      g,
      ctx,
      candidates,
      { tag: "matrix", constants: "taps" },
      (e, conv) => rewrite(g, e, conv, geometry(g, conv)!),
    );
    return true;
  },
);

/**
 * A grouped convolution (depthwise or not) of static sizes whose groups' matrices have at most
 * `maxPairs` entries: (input channels x positions) x (output channels x positions) per group.
 */
function geometry(g: Graph, conv: Node): ConvGeometry | undefined {
  if (g.types.get(conv.inputs[1])?.dtype !== "f32") return undefined;
  const p = convGeometry(g, conv);
  if (!p || p.group < 2 || p.channelsIn % p.group || p.channelsOut % p.group) return undefined;
  const perGroup = (p.channelsIn / p.group) * (p.channelsOut / p.group);
  const entries = perGroup * numel(p.inSp) * numel(p.outSp);
  return entries <= depthwiseMatrixTuning.maxPairs ? p : undefined;
}

function rewrite(g: Graph, e: ExprGraph, conv: Node, p: ConvGeometry): Expr {
  const [x, w, bias] = conv.inputs;
  const n = p.kernel.length;
  const groups = p.group, m = p.channelsOut;
  const ig = p.channelsIn / groups, og = m / groups;
  const positionsIn = numel(p.inSp), positionsOut = numel(p.outSp);
  const spatial = Array.from({ length: n }, (_, i) => i + 2);
  const s = e.constant(tapMatrix(g.types.get(w)!.dtype, p));
  // W [M, Ig, k...] as rows [M Ig, K] times S: [G, Og, Ig, O, I], each group's [Og O, Ig I]
  // once its output and input channels sit beside their positions (no Transpose when Ig = 1).
  let matrices = e.v(w).reshape([m * ig, numel(p.kernel)]).matmul(s);
  if (ig > 1) {
    matrices = matrices.reshape([groups, og, ig, positionsOut, positionsIn])
      .transpose([0, 1, 3, 2, 4]);
  }
  matrices = matrices.reshape([groups, og * positionsOut, ig * positionsIn]);
  // x as [G, Ig I, N] and y as [M, O, N], conv_columns' layout (a Reshape with -1 keeps a
  // symbolic batch): columns_layout keeps runs of such layers and Gemms in it.
  const columns = e.v(x).transpose([1, ...spatial, 0]).reshape([groups, ig * positionsIn, -1]);
  let y = matrices.matmul(columns).reshape([m, positionsOut, -1]);
  if (bias) y = y.add(e.v(bias).reshape([m, 1, 1]));
  const out = y.reshape([m, ...p.outSp, -1]).transpose([n + 1, 0, ...spatial.map((a) => a - 1)]);
  return out;
}
