/**
 * depthwise_matrix: a training step's depthwise convolution on small maps as one batched
 * MatMul by per-channel matrices.
 */
import type { Graph, Node } from "../ir/graph.ts";
import { exprGraph } from "../ir/expr.ts";
import { numel, setNumber, type Tensor, zeros } from "../ir/tensor.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { explicitPads } from "../ops/conv.ts";
import { definePass, noteRewrite } from "./context.ts";
import { constantPool } from "./share_batch_statistics.ts";
import { plain } from "./match.ts";

/**
 * `maxPairs`: the most (input position, output position) pairs per channel, I * O, for which a
 * depthwise layer becomes matrices (each channel's matrix has I * O entries, of which at most
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
 * Runs in train mode only, before the gradients are built (`beforeGradientsPipeline`, after
 * depthwise_scale, which makes one-tap layers a Mul): the gradients are derived from the
 * matrices; in eval mode a Conv keeps its weight's name and the batch norm folded into it.
 * Conditions: C = group = M (no channel multiplier), a weight [C, 1, k...], static channels,
 * maps and kernel, at most `maxPairs` position pairs, more than one channel.
 */
export const depthwiseMatrix = definePass(
  { id: "depthwise_matrix", modes: ["train"] },
  (g, ctx) => {
    const candidates = g.nodes.filter((n) => plain(n)?.op === "Conv" && geometry(g, n));
    if (candidates.length === 0) return false;
    const b = new GraphBuilder(g);
    const pool = constantPool(g);
    for (const conv of candidates) {
      noteRewrite(ctx, [{ ...conv }]);
      const at = g.nodes.length;
      rewrite(g, b, pool, conv, geometry(g, conv)!);
      // The new nodes take the Conv's place.
      const added = g.nodes.splice(at);
      g.nodes.splice(g.nodes.indexOf(conv), 1, ...added);
    }
    return true;
  },
);

interface Geometry {
  c: number;
  kernel: number[];
  strides: number[];
  dil: number[];
  pads: number[];
  inSp: number[];
  outSp: number[];
}

function geometry(g: Graph, conv: Node): Geometry | undefined {
  const [x, w] = conv.inputs;
  const xt = g.types.get(x), wt = g.types.get(w), yt = g.types.get(conv.outputs[0]);
  if (!xt || !wt || !yt) return undefined;
  const rank = xt.shape.length;
  const c = xt.shape[1];
  const group = (conv.attrs.group as number | undefined) ?? 1;
  if (rank < 3 || typeof c !== "number" || c < 2 || group !== c) return undefined;
  if (wt.shape.length !== rank || wt.shape[0] !== c || wt.shape[1] !== 1) return undefined;
  const inSp = xt.shape.slice(2), outSp = yt.shape.slice(2), kernel = wt.shape.slice(2);
  if (![...inSp, ...outSp, ...kernel].every((d) => typeof d === "number")) return undefined;
  const n = rank - 2;
  const ones = new Array<number>(n).fill(1);
  const strides = (conv.attrs.strides as number[] | undefined) ?? ones;
  const dil = (conv.attrs.dilations as number[] | undefined) ?? ones;
  const p = {
    c,
    kernel: kernel as number[],
    strides,
    dil,
    inSp: inSp as number[],
    outSp: outSp as number[],
    pads: [] as number[],
  };
  if (numel(p.inSp) * numel(p.outSp) > depthwiseMatrixTuning.maxPairs) return undefined;
  p.pads = explicitPads(conv.attrs, p.inSp, p.outSp, p.kernel, strides, dil);
  return p;
}

/** S [K, O * I]: S[k, (o, i)] = 1 where tap k of output position o reads input position i. */
export function tapMatrix(dtype: Tensor["dtype"], p: Geometry): Tensor {
  const taps = numel(p.kernel), positionsIn = numel(p.inSp), positionsOut = numel(p.outSp);
  const s = zeros(dtype, [taps, positionsOut * positionsIn]);
  const n = p.kernel.length;
  const index = (flat: number, dims: number[]) => {
    const at = new Array<number>(dims.length);
    for (let d = dims.length - 1; d >= 0; d--) {
      at[d] = flat % dims[d];
      flat = Math.floor(flat / dims[d]);
    }
    return at;
  };
  for (let o = 0; o < positionsOut; o++) {
    const oAt = index(o, p.outSp);
    for (let k = 0; k < taps; k++) {
      const kAt = index(k, p.kernel);
      let i = 0, inside = true;
      for (let d = 0; d < n && inside; d++) {
        const at = oAt[d] * p.strides[d] + kAt[d] * p.dil[d] - p.pads[d];
        inside = at >= 0 && at < p.inSp[d];
        i = i * p.inSp[d] + at;
      }
      if (inside) setNumber(s, k * positionsIn * positionsOut + o * positionsIn + i, 1);
    }
  }
  return s;
}

function rewrite(
  g: Graph,
  b: GraphBuilder,
  pool: ReturnType<typeof constantPool>,
  conv: Node,
  p: Geometry,
): void {
  const [x, w, bias] = conv.inputs;
  const e = exprGraph({
    node: (op, inputs, attrs, o) =>
      b.addNode(op, inputs, attrs, {
        ...o,
        name: `${conv.name}/matrix/${op.toLowerCase()}`,
        spans: conv.spans,
      }),
    constant: (t) => pool.get(t, (t) => b.initializer(`${conv.name}.taps`, t)),
    typeOf: (name) => b.typeOf(name)!,
  });
  const n = p.kernel.length;
  const c = p.c, positionsIn = numel(p.inSp), positionsOut = numel(p.outSp);
  const spatial = Array.from({ length: n }, (_, i) => i + 2);
  const s = e.constant(tapMatrix(g.types.get(w)!.dtype, p));
  const matrices = e.v(w).reshape([c, numel(p.kernel)]).matmul(s)
    .reshape([c, positionsOut, positionsIn]);
  // x as [C, I, N] and y as [C, O, N], conv_columns' layout (a Reshape with -1 keeps a
  // symbolic batch): columns_layout keeps runs of such layers and Gemms in it.
  let y = matrices.matmul(e.v(x).transpose([1, ...spatial, 0]).reshape([c, positionsIn, -1]));
  if (bias) y = y.add(e.v(bias).reshape([c, 1, 1]));
  const out = y.reshape([c, ...p.outSp, -1]).transpose([n + 1, 0, ...spatial.map((a) => a - 1)]);
  // The last node writes the Conv's output.
  const last = g.nodes.at(-1)!;
  g.types.set(conv.outputs[0], g.types.get(out.name)!);
  g.types.delete(out.name);
  last.outputs = [conv.outputs[0]];
}
