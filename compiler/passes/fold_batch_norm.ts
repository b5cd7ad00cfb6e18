/**
 * fold_batch_norm: fold an inference-mode BatchNormalization into the
 * linear layer that feeds it.
 */
import type { Graph, Node, ParamInfo } from "../ir/graph.ts";
import { type DType, numel, type Tensor, tensor, toNumbers, zeros } from "../ir/tensor.ts";
import { definePass, mergeSpans, noteRewrite, type PassContext } from "./context.ts";
import { lazyScaled } from "../ir/init.ts";
import {
  constantTable,
  dropUnusedInitializers,
  freshName,
  producerOnlyFor,
  takenNames,
  Uses,
} from "./match.ts";

/**
 * In eval mode batch norm is an affine map per channel c (axis 1):
 *
 *   BN(y)[c] = gamma[c] * (y[c] - mean[c]) / sqrt(var[c] + eps) + beta[c]
 *            = s[c] * y[c] + t[c],   s = gamma / sqrt(var + eps),  t = beta - mean * s
 *
 * When y = W * x + b is linear with output channel c on axis 1, then
 *
 *   BN(y) = (W * s) * x + (b * s + t) = W' * x + b'
 *   W'[c, ...] = W[c, ...] * gamma[c] / sqrt(var[c] + eps)         (per output channel)
 *   b'[c]      = (b[c] - mean[c]) * gamma[c] / sqrt(var[c] + eps) + beta[c]
 *
 * with b = 0 when the layer has no bias. The producers handled, and where
 * their output channel lives in the weight:
 *
 *   Conv(x, W[M, C/g, k...], b[M])            channel m = axis 0 of W
 *   ConvTranspose(x, W[C, M/g, k...], b[M])   channel m = group(c) * M/g + axis 1 of W
 *   Gemm(x, B, C; alpha, beta, transB)        channel n = column n of B' (row n when transB);
 *                                             b = beta * C, and beta becomes 1
 *   MatMul(x[M, K], W[K, N]) (+ b[N])         channel n = column n of W; with no Add, the
 *                                             batch norm turns into Add(y, b')
 *
 * Conditions: eval mode; the batch norm has one output and training_mode 0;
 * its statistics and affine parameters, and the producer's weight and bias,
 * are constants; the producer's output feeds only the batch norm (no other
 * node, no graph output); MatMul takes a rank-2 x (so axis 1 is the channel);
 * weights are f32 or f64.
 *
 * Names: where the producer alone reads its weight (or bias) initializer, the
 * folded values replace it under the same name (`layer1.0.conv1.weight` stays
 * `layer1.0.conv1.weight`), so names stay stable and weight files still map
 * by name. A weight shared with other nodes is copied to `<weight>.folded`. A
 * bias the layer lacked is created as `<prefix>.bias` when the weight is
 * `<prefix>.weight` (as PyTorch names a conv with bias), else
 * `<weight>.bias`; it gets a `params` entry like the weight's. The producer
 * keeps the batch norm's output name and both nodes' spans. Batch-norm
 * initializers left unused are removed, with their `params` entries.
 */
export const foldBatchNorm = definePass({ id: "fold_batch_norm", modes: ["eval"] }, (g, ctx) => {
  const consts = constantTable(g, ctx);
  const uses = new Uses(g);
  const taken = takenNames(g);
  const removed = new Set<Node>();
  let fired = 0;
  for (const bn of g.nodes) {
    if (bn.op !== "BatchNormalization" || bn.domain) continue;
    const f = new Folder(g, ctx, consts, uses, taken);
    if (!f.fold(bn)) continue;
    fired++;
    if (f.bnRemoved) removed.add(bn);
    noteRewrite(ctx, f.replaced);
  }
  if (removed.size) g.nodes = g.nodes.filter((n) => !removed.has(n));
  return fired > 0;
});

const WEIGHT_TYPES: readonly DType[] = ["f32", "f64"];

/** Maps a flat weight index to its output channel. */
type ChannelOf = (i: number) => number;

class Folder {
  replaced: Node[] = [];
  bnRemoved = true;
  /** Initializers the rewrite stopped reading, removed at the end when unused. */
  #released: string[] = [];

  constructor(
    readonly g: Graph,
    readonly ctx: PassContext,
    readonly consts: Map<string, Tensor>,
    readonly uses: Uses,
    readonly taken: Set<string>,
  ) {}

  fold(bn: Node): boolean {
    if (bn.outputs.length < 1 || !bn.outputs[0] || bn.outputs.slice(1).some((o) => o)) {
      return false;
    }
    if (bn.attrs.training_mode === 1) return false;
    const [x, ...params] = bn.inputs;
    if (!x || params.length !== 4) return false;
    const ts = params.map((p) => (p ? this.consts.get(p) : undefined));
    if (ts.some((t) => !t || t.dtype === "str" || t.shape.length !== 1)) return false;
    const [gamma, beta, mean, variance] = ts.map((t) => toNumbers(t!));
    const ch = gamma.length;
    if (![beta, mean, variance].every((v) => v.length === ch)) return false;
    const eps = typeof bn.attrs.epsilon === "number" ? bn.attrs.epsilon : 1e-5;
    const s = gamma.map((gm, c) => gm / Math.sqrt(variance[c] + eps));
    const t = beta.map((b, c) => b - mean[c] * s[c]);

    const bnBefore = { ...bn }; // the report names it as it was (a bare MatMul's turns into Add)
    const p = producerOnlyFor(this.uses, x, bn);
    if (!p) return false;
    let ok = false;
    switch (p.op) {
      case "Conv":
        ok = this.#conv(p, s, t, false);
        break;
      case "ConvTranspose":
        ok = this.#conv(p, s, t, true);
        break;
      case "Gemm":
        ok = this.#gemm(p, s, t);
        break;
      case "MatMul":
        ok = this.#matMul(p, bn, s, t);
        break;
      case "Add":
        ok = this.#matMulAdd(p, s, t);
        break;
    }
    if (!ok) return false;
    this.replaced = [p, ...this.replaced, bnBefore];
    if (this.bnRemoved) {
      // The producer now computes the batch norm's output: it takes its name.
      p.spans = mergeSpans(p, bn);
      this.uses.drop(bn);
      const y = bn.outputs[0];
      const yType = this.g.types.get(y)!;
      this.g.types.delete(y);
      this.uses.renameOutput(x, y);
      this.g.types.set(y, yType);
    }
    this.#released.push(...params);
    dropUnusedInitializers(this.g, this.#released, this.uses, this.ctx);
    return true;
  }

  /** Conv/ConvTranspose: scale W per output channel, b' = b * s + t. */
  #conv(p: Node, s: number[], t: number[], transposed: boolean): boolean {
    const w = this.#const(p.inputs[1]);
    if (!w || !WEIGHT_TYPES.includes(w.dtype) || w.shape.length < 3) return false;
    const group = typeof p.attrs.group === "number" ? p.attrs.group : 1;
    let channelOf: ChannelOf;
    if (!transposed) {
      if (w.shape[0] !== s.length) return false;
      const per = numel(w.shape) / w.shape[0];
      channelOf = (i) => Math.floor(i / per);
    } else {
      const [cin, mPerGroup] = w.shape;
      if (group * mPerGroup !== s.length || cin % group !== 0) return false;
      const spatial = numel(w.shape.slice(2));
      const cinPerGroup = cin / group;
      channelOf = (i) => {
        const ci = Math.floor(i / (mPerGroup * spatial));
        const j = Math.floor(i / spatial) % mPerGroup;
        return Math.floor(ci / cinPerGroup) * mPerGroup + j;
      };
    }
    const b = this.#optionalConst(p.inputs[2], s.length);
    if (b === null) return false;
    const bias = b ? toNumbers(b) : new Array<number>(s.length).fill(0);
    const wName = p.inputs[1];
    this.#setWeight(
      p,
      1,
      scaled(w, s, channelOf, transposed ? undefined : numel(w.shape) / w.shape[0]),
    );
    this.#setBias(p, 2, wName, tensor(w.dtype, [s.length], bias.map((v, c) => v * s[c] + t[c])));
    return true;
  }

  /** Gemm: Y = alpha * A' B' + beta * C, so B'[:, n] *= s[n] and C' = beta * C * s + t. */
  #gemm(p: Node, s: number[], t: number[]): boolean {
    const bw = this.#const(p.inputs[1]);
    if (!bw || !WEIGHT_TYPES.includes(bw.dtype) || bw.shape.length !== 2) return false;
    const transB = p.attrs.transB === 1;
    const [rows, cols] = bw.shape;
    if ((transB ? rows : cols) !== s.length) return false;
    const channelOf: ChannelOf = transB ? (i) => Math.floor(i / cols) : (i) => i % cols;
    const c = this.#optionalConst(p.inputs[2], s.length, true);
    if (c === null) return false;
    const beta = typeof p.attrs.beta === "number" ? p.attrs.beta : 1;
    const cv = c ? toNumbers(c) : [0];
    const at = (n: number) => (cv.length === 1 ? cv[0] : cv[n]);
    const wName = p.inputs[1];
    this.#setWeight(p, 1, scaled(bw, s, channelOf, transB ? cols : undefined));
    const folded = s.map((sn, n) => beta * at(n) * sn + t[n]);
    this.#setBias(p, 2, wName, tensor(bw.dtype, [s.length], folded));
    delete p.attrs.beta; // beta * C was folded into C'; the default beta is 1
    return true;
  }

  /** MatMul alone: W[:, n] *= s[n], and the batch norm becomes Add(y, t). */
  #matMul(p: Node, bn: Node, s: number[], t: number[]): boolean {
    const w = this.#matMulWeight(p, s.length);
    if (!w) return false;
    const wName = p.inputs[1];
    this.#setWeight(p, 1, scaled(w, s, (i) => i % s.length));
    const biasName = this.#newBiasName(wName);
    this.#addInitializer(biasName, tensor(w.dtype, [s.length], t), wName, "bias");
    // The batch norm node is rewritten in place into the bias Add; it keeps its name,
    // output and spans, so only the MatMul absorbs the batch norm's spans.
    p.spans = mergeSpans(p, bn);
    this.uses.drop(bn);
    bn.op = "Add";
    bn.inputs = [bn.inputs[0], biasName];
    bn.attrs = {};
    this.uses.add(bn);
    this.bnRemoved = false;
    return true;
  }

  /** MatMul(x, W) + b: W[:, n] *= s[n], b' = b * s + t (b keeps its shape [N] or [1, N]). */
  #matMulAdd(add: Node, s: number[], t: number[]): boolean {
    const [a0, a1] = add.inputs;
    for (const [m, bName] of [[a0, a1], [a1, a0]]) {
      const mm = m ? this.uses.producer(m) : undefined;
      if (!mm || mm.op !== "MatMul" || mm.domain || this.uses.soleReader(m) !== add) continue;
      const b = bName ? this.consts.get(bName) : undefined;
      const w = this.#matMulWeight(mm, s.length);
      if (!w || !b || b.dtype !== w.dtype || numel(b.shape) !== s.length) continue;
      if (!(b.shape.length === 1 || (b.shape.length === 2 && b.shape[0] === 1))) continue;
      this.#setWeight(mm, 1, scaled(w, s, (i) => i % s.length));
      const bv = toNumbers(b);
      const slot = add.inputs.indexOf(bName);
      const folded = tensor(w.dtype, [...b.shape], bv.map((v, c) => v * s[c] + t[c]));
      this.#setBias(add, slot, mm.inputs[1], folded);
      mm.spans = mergeSpans(mm, add);
      this.replaced.push(mm);
      return true;
    }
    return false;
  }

  /** The constant 2-D weight [K, n] of a MatMul on a rank-2 x, or undefined. */
  #matMulWeight(p: Node, n: number): Tensor | undefined {
    const xt = this.g.types.get(p.inputs[0]);
    const w = this.#const(p.inputs[1]);
    if (!xt || xt.shape.length !== 2 || !w || !WEIGHT_TYPES.includes(w.dtype)) return undefined;
    return w.shape.length === 2 && w.shape[1] === n ? w : undefined;
  }

  #const(name: string | undefined): Tensor | undefined {
    return name ? this.consts.get(name) : undefined;
  }

  /**
   * An optional bias: undefined when absent, null when present but unusable
   * (not constant, wrong size). `scalar` also accepts one element broadcast.
   */
  #optionalConst(name: string | undefined, n: number, scalar = false): Tensor | undefined | null {
    if (!name) return undefined;
    const b = this.consts.get(name);
    if (!b || b.dtype === "str") return null;
    const size = numel(b.shape);
    if (scalar && size === 1 && b.shape.length <= 2) return b;
    const shapeOk = b.shape.length === 1 || (b.shape.length === 2 && b.shape[0] === 1);
    return size === n && shapeOk ? b : null;
  }

  /** Give input `slot` of `p` the folded weight, in place when `p` alone reads it. */
  #setWeight(p: Node, slot: number, value: Tensor): void {
    const old = p.inputs[slot];
    if (this.#owned(p, old)) {
      this.g.initializers.set(old, value);
      this.consts.set(old, value);
      return;
    }
    const name = freshName(this.g, `${old}.folded`, this.taken);
    this.#addInitializer(name, value, old);
    this.#rewire(p, slot, name);
  }

  /**
   * Give input `slot` of `p` the folded bias, in place when `p` alone reads
   * the old one; a new bias is named after the layer's original `weight`.
   */
  #setBias(p: Node, slot: number, weight: string, value: Tensor): void {
    const old = p.inputs[slot];
    if (old && this.#owned(p, old)) {
      this.g.initializers.set(old, value);
      this.g.types.set(old, { dtype: value.dtype, shape: [...value.shape] });
      this.consts.set(old, value);
      return;
    }
    const name = old ? freshName(this.g, `${old}.folded`, this.taken) : this.#newBiasName(weight);
    this.#addInitializer(name, value, old || weight, "bias");
    this.#rewire(p, slot, name);
  }

  #newBiasName(weight: string): string {
    const base = weight.endsWith("weight") ? `${weight.slice(0, -6)}bias` : `${weight}.bias`;
    return freshName(this.g, base, this.taken);
  }

  /** An initializer read by `p` alone (and only once), which can be overwritten. */
  #owned(p: Node, name: string): boolean {
    return this.g.initializers.has(name) && this.uses.soleReader(name) === p &&
      p.inputs.filter((i) => i === name).length === 1;
  }

  /** New initializer `name`; its params entry copies that of `like` (with `role`). */
  #addInitializer(name: string, value: Tensor, like: string, role?: string): void {
    this.g.initializers.set(name, value);
    this.g.types.set(name, { dtype: value.dtype, shape: [...value.shape] });
    this.consts.set(name, value);
    const info = this.g.params.find((q) => q.name === like);
    if (info) {
      const entry: ParamInfo = { ...info, name };
      if (role) entry.role = role;
      const at = this.g.params.indexOf(info);
      this.g.params.splice(at + 1, 0, entry);
    }
  }

  #rewire(p: Node, slot: number, name: string): void {
    const old = p.inputs[slot];
    this.uses.drop(p);
    while (p.inputs.length <= slot) p.inputs.push("");
    p.inputs[slot] = name;
    this.uses.add(p);
    if (old) this.#released.push(old);
  }
}

/** A copy of `w` with element i multiplied by s[channelOf(i)]. */
function scaled(w: Tensor, s: number[], channelOf: ChannelOf, per?: number): Tensor {
  // A weight not drawn yet stays lazy: drawn and scaled in one pass when emitted.
  if (per !== undefined && w.dtype === "f32") {
    const lazy = lazyScaled(w, s, per);
    if (lazy) return lazy;
  }
  const src = w.data as Float32Array | Float64Array;
  const out = zeros(w.dtype, w.shape);
  const dst = out.data as Float32Array | Float64Array;
  if (per !== undefined) {
    // Channel-major layout (Conv weights, Gemm with transB): one contiguous run per channel.
    for (let c = 0, i = 0; c < s.length; c++) {
      const k = s[c];
      for (const end = i + per; i < end; i++) dst[i] = src[i] * k;
    }
    return out;
  }
  for (let i = 0; i < src.length; i++) dst[i] = src[i] * s[channelOf(i)];
  return out;
}
