/**
 * trim_conv_taps: drop the kernel taps of a convolution that only ever read
 * padding.
 */
import type { Graph, Node } from "../ir/graph.ts";
import { numel, setNumber, type Tensor, tensor, zeros } from "../ir/tensor.ts";
import { explicitPads } from "../ops/conv.ts";
import { definePass, noteRewrite } from "./context.ts";
import { constantTable, freshName, plain, takenNames, Uses } from "./match.ts";

/**
 * Along one spatial dim of a Conv (input size H, output size O, stride s,
 * dilation d, pads pb/pe, kernel size k), tap j reads input positions
 *
 *   o s + j d - pb,   o = 0 .. O-1
 *
 * and contributes nothing when all of them fall in the padding (zeros). The
 * taps that read the input at least once form a range [lo, hi]; with only
 * those, the same output comes from
 *
 *   Conv(x, Slice(W, lo..hi on every spatial axis)),  pb' = pb - lo d,  pe' = pe - (k-1-hi) d
 *
 * (the same O). A 3x3 convolution padded by 1 on a 1x1 map (ResNet-18's
 * last stage on 32x32 images) becomes a 1x1 convolution: a ninth of the
 * work, in the forward and in a training step's gradients, which see the
 * trimmed kernel.
 * Dropped terms are exact zeros, so results change only by the order of the
 * remaining sums.
 *
 * Conditions: static spatial dims of x and W and of the output; the new pads
 * are not negative and give the same output size. A constant W that the
 * Conv alone reads is trimmed in place and keeps its name (so weight files
 * still map by name); otherwise the Conv reads the live taps picked from W
 * by a MatMul with a constant 0/1 matrix (a parameter in training: a copy of
 * the live taps per run; the gradient is the product by its transpose).
 */
export const trimConvTaps = definePass({ id: "trim_conv_taps" }, (g, ctx) => {
  const consts = constantTable(g, ctx);
  const uses = new Uses(g);
  // The graph's names, once: each new name joins it (freshName), so no rewrite scans the graph.
  let taken: Set<string> | undefined;
  const fresh = (base: string) => freshName(g, base, taken ??= takenNames(g));
  const out: Node[] = [];
  let fired = 0;
  for (const n of g.nodes) {
    const r = plain(n)?.op === "Conv" ? trim(g, n, consts, uses, fresh) : undefined;
    if (r) {
      if (r !== true) out.push(...r);
      noteRewrite(ctx, [n]);
      fired++;
    }
    out.push(n);
  }
  if (fired) g.nodes = out;
  return fired > 0;
});

/**
 * The live taps [lo, hi] of one spatial dim (input size H, output size O, kernel size K, stride
 * s, dilation d, leading pad pb), or undefined when none is. Tap j reads at = p s + j d - pb for
 * p = 0 .. O-1, and is live when some p puts that in [0, H): when
 * max(0, ceil((pb - j d) / s)) <= min(O - 1, floor((H - 1 + pb - j d) / s)). Solved for each tap,
 * not searched over p: O is as large as the padding makes it (a pad of 1e11 hung the pass).
 */
export function liveTaps(
  h: number,
  o: number,
  k: number,
  s: number,
  d: number,
  pb: number,
): [number, number] | undefined {
  const live = (j: number) => {
    const base = j * d - pb;
    return Math.max(0, Math.ceil(-base / s)) <= Math.min(o - 1, Math.floor((h - 1 - base) / s));
  };
  let a = 0, b = k - 1;
  while (a <= b && !live(a)) a++;
  while (b >= a && !live(b)) b--;
  return a > b ? undefined : [a, b];
}

/**
 * Rewrites `conv` to read only its live taps: true when its weight was
 * trimmed in place, else the nodes that now pick them; undefined when every
 * tap is live or the rewrite does not apply.
 */
function trim(
  g: Graph,
  conv: Node,
  consts: Map<string, Tensor>,
  uses: Uses,
  fresh: (base: string) => string,
): Node[] | true | undefined {
  const [x, w] = conv.inputs;
  const xt = g.types.get(x), wt = g.types.get(w), yt = g.types.get(conv.outputs[0]);
  if (!xt || !wt || !yt) return undefined;
  const n = xt.shape.length - 2;
  const inSp = xt.shape.slice(2), kernel = wt.shape.slice(2), outSp = yt.shape.slice(2);
  const statics = [...inSp, ...kernel, ...outSp];
  if (n < 1 || statics.some((d) => typeof d !== "number")) return undefined;
  const h = inSp as number[], k = kernel as number[], o = outSp as number[];
  const ones = new Array<number>(n).fill(1);
  const strides = (conv.attrs.strides as number[] | undefined) ?? ones;
  const dil = (conv.attrs.dilations as number[] | undefined) ?? ones;
  const pads = explicitPads(conv.attrs, h, o, k, strides, dil);
  const lo: number[] = [], hi: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = liveTaps(h[i], o[i], k[i], strides[i], dil[i], pads[i]);
    if (!r) return undefined; // no live tap: the output is the bias alone
    lo.push(r[0]);
    hi.push(r[1]);
  }
  if (lo.every((a, i) => a === 0 && hi[i] === k[i] - 1)) return undefined;
  const begin = pads.slice(0, n).map((p, i) => p - lo[i] * dil[i]);
  const end = pads.slice(n).map((p, i) => p - (k[i] - 1 - hi[i]) * dil[i]);
  if ([...begin, ...end].some((p) => p < 0)) return undefined;
  const same = o.every((size, i) =>
    Math.floor((h[i] + begin[i] + end[i] - (hi[i] - lo[i]) * dil[i] - 1) / strides[i]) + 1 === size
  );
  if (!same) return undefined;

  const size = lo.map((a, i) => hi[i] - a + 1);
  const attrs: Node["attrs"] = { ...conv.attrs, pads: [...begin, ...end] };
  delete attrs.auto_pad;
  if (attrs.kernel_shape) attrs.kernel_shape = size;
  const [m, c] = wt.shape;
  const known = consts.get(w);
  if (known && g.initializers.get(w) === known && uses.soleReader(w) === conv) {
    g.initializers.set(w, cropKernel(known, lo, size));
    g.types.set(w, { dtype: wt.dtype, shape: [m, c, ...size] });
    conv.attrs = attrs;
    return true;
  }
  if (typeof m !== "number" || typeof c !== "number") return undefined;
  conv.attrs = attrs;
  // W as rows [M * C, K] times a 0/1 matrix [K, K'] that picks the live taps: onnxruntime runs
  // that MatMul, and its gradient's product by the transpose, far faster than a Slice and the Pad
  // a Slice's gradient is (0.8 and 0.6 against 2.5 and 9.1 ms for a 512x512x3x3 weight).
  // Measured again for that weight read at its centre (onnxruntime-node 1.30, 2 threads, minima
  // of 150-300 runs of minimal models, loaded machine): the pick 0.21 ms, against 0.32 for a
  // Gather along the taps of the rows, 0.90 for a Slice of W's kernel axes, 0.19 for a Slice of
  // the flat W with step 9 (one live tap only; its gradient would be a Pad); a step's gradient,
  // the Gemm with the momentum as C (fuse_gemm_accumulate) 0.59 ms, against 0.77 for Mul and a
  // Gemm, 0.89 for Mul, MatMul and Add over [M, C, 9], 1.5 for Mul and a ScatterElements add;
  // and again on [262144, 9] (whole runs, their input and output copies included): the Gemm 1.17
  // ms, Mul and a ScatterND add of the live taps (reduction "add") 1.88, Mul alone 0.79.
  const whole = numel(k), live = numel(size);
  const pick = zeros(wt.dtype, [whole, live]);
  for (let j = 0; j < live; j++) setNumber(pick, kernelOffset(j, lo, size, k) * live + j, 1);
  const value = (base: string, dims: number[], t?: Tensor) => {
    const name = fresh(base);
    g.types.set(name, { dtype: t?.dtype ?? wt.dtype, shape: dims });
    if (t) g.initializers.set(name, t);
    return name;
  };
  const shapeOf = (dims: number[]) =>
    value(`${w}.shape`, [dims.length], tensor("i64", [dims.length], dims));
  const node = (op: string, what: string, inputs: string[], output: string): Node => ({
    name: fresh(`${conv.name}/taps/${what}`),
    op,
    inputs,
    outputs: [output],
    attrs: {},
    spans: conv.spans,
  });
  const rows = value(`${w}.rows`, [m * c, whole]);
  const picked = value(`${w}.live_rows`, [m * c, live]);
  const taps = value(`${w}.taps`, [m, c, ...size]);
  conv.inputs = [x, taps, ...conv.inputs.slice(2)];
  return [
    node("Reshape", "rows", [w, shapeOf([m * c, whole])], rows),
    node("MatMul", "pick", [rows, value(`${w}.pick`, [whole, live], pick)], picked),
    node("Reshape", "kernel", [picked, shapeOf([m, c, ...size])], taps),
  ];
}

/** Where position j of a window of `size` starting at `lo` lies in a kernel of `k` (last dim fastest). */
function kernelOffset(j: number, lo: number[], size: number[], k: number[]): number {
  let from = 0;
  for (let d = 0, r = j, span = numel(size); d < size.length; d++) {
    span /= size[d];
    const at = Math.floor(r / span);
    r -= at * span;
    from = from * k[d] + lo[d] + at;
  }
  return from;
}

/** W[:, :, lo0 : lo0 + size0, lo1 : ...]: the kernel window of a weight [M, C, k...]. */
function cropKernel(w: Tensor, lo: number[], size: number[]): Tensor {
  const [m, c, ...k] = w.shape;
  const out = zeros(w.dtype, [m, c, ...size]);
  const src = w.data as ArrayLike<number>, dst = out.data as unknown as number[];
  const inner = numel(size), whole = numel(k);
  for (let i = 0; i < inner; i++) {
    const from = kernelOffset(i, lo, size, k);
    for (let mc = 0; mc < m * c; mc++) dst[mc * inner + i] = src[mc * whole + from];
  }
  return out;
}
