/**
 * fuse_attention: scaled dot-product attention over heads, spelled out with
 * Reshape / Transpose / MatMul / Softmax -> com.microsoft MultiHeadAttention.
 * Target "ort" only.
 */
import type { Dim, Graph, Node } from "../ir/graph.ts";
import { type DType, type Tensor, tensor } from "../ir/tensor.ts";
import { dimDiv, dimEquals } from "../ops/dims.ts";
import { MS_DOMAIN } from "../ops/contrib/common.ts";
import { definePass, mergeSpans, noteRewrite } from "./context.ts";
import {
  constantTable,
  freshName,
  plain,
  producerOnlyFor,
  scalar,
  sole,
  stableTopo,
  takenNames,
  Uses,
} from "./match.ts";

/**
 * With Q [B, S, D], K [B, L, D], V [B, L, Dv] split into n heads of size
 * h = D / n (value heads Dv / n):
 *
 *   q = Transpose(Reshape(Q, [B, S, n, h]), perm = [0, 2, 1, 3])        [B, n, S, h]
 *   k = Transpose(Reshape(K, [B, L, n, h]), perm = [0, 2, 3, 1])        [B, n, h, L]
 *       (or Transpose(Transpose(Reshape(K), [0, 2, 1, 3]), [0, 1, 3, 2]))
 *   v = Transpose(Reshape(V, [B, L, n, hv]), perm = [0, 2, 1, 3])       [B, n, L, hv]
 *   s = Mul(MatMul(q, k), c) | Div(MatMul(q, k), c) | MatMul(q, k)
 *   s = Add(s, M) | Where(C, s, low)                      (optional mask)
 *   s = Where(causal, s, low)                             (optional causal mask)
 *   a = Softmax(s, axis = -1)
 *   Y = Reshape(Transpose(MatMul(a, v), perm = [0, 2, 1, 3]), [B, S, Dv])
 *
 * is MultiHeadAttention(Q, K, V; num_heads = n, scale = c or 1 / c), which
 * is what scaled_dot_product_attention() and the .dlm MultiHeadAttention
 * blocks emit. The masks become:
 *
 * - an additive float mask M (any rank <= 4 that broadcasts to [B, n, S, L]
 *   with a last dim L) -> attention_bias [B or 1, n or 1, S, L]: leading
 *   axes unsqueezed, and a dim S of 1 (BERT's [B, 1, 1, L] padding bias)
 *   expanded, since onnxruntime requires S there;
 * - a bool mask C (true = attend) -> the additive bias Where(C, 0, low),
 *   then as above: s + low rounds to low for any |s| < 1e31, so
 *   softmax(Where(C, s, low)) = softmax(s + Where(C, 0, low));
 * - a causal mask, C[i, j] = (j <= i) over S = L positions (the
 *   LessOrEqual of two position ranges, or such a constant) ->
 *   unidirectional = 1 with mask_filter_value = low, and the nodes that
 *   built the mask are left to dead-code elimination.
 *
 * Conditions: f32 (onnxruntime's CPU kernel); the scale and low are constant
 * scalars (low <= -1e30); the shapes are as above (read from the recorded
 * types, so a Reshape written with 0 or -1 qualifies); from the score MatMul
 * to the final Transpose every value feeds only the next node. Q, K, V, the
 * masks and the head splits may feed anything: a head split that something
 * else still reads is kept. The fused node takes the first MatMul's name,
 * the final Reshape's output and position, and the spans of all the nodes
 * it replaced.
 */
export const fuseAttention = definePass({ id: "fuse_attention" }, (g, ctx) => {
  const consts = constantTable(g, { ...ctx, keepParams: false });
  const uses = new Uses(g);
  const removed = new Set<Node>();
  const inserted = new Map<Node, Node[]>();
  /** Attention biases already built, by mask value, kind and S: shared between layers. */
  const biases = new Map<string, string>();
  let fired = 0;
  let taken: Set<string> | undefined;
  for (const sm of [...g.nodes]) {
    if (sm.op !== "Softmax" || sm.domain || removed.has(sm)) continue;
    const m = match(g, sm, consts, uses);
    if (!m) continue;
    fired++;
    const last = m.nodes[m.nodes.length - 1];
    const added: Node[] = [];
    taken ??= takenNames(g);
    const bias = m.mask && biasFor(g, m, uses, biases, added, taken);
    if (added.length) inserted.set(last, added);
    for (const n of m.nodes) uses.drop(n);
    // Latest first, so a head split's Transpose is settled before its Reshape.
    const order = new Map(g.nodes.map((n, i) => [n, i]));
    const kept = new Set<Node>();
    const byLast = m.nodes.filter((n) => n !== last).sort((a, b) => order.get(b)! - order.get(a)!);
    for (const n of byLast) {
      if (m.shared.has(n) && n.outputs.some((o) => uses.isUsed(o))) {
        kept.add(n); // still read outside the pattern (e.g. by a mask built from its shape)
        uses.add(n);
        continue;
      }
      removed.add(n);
      for (const o of n.outputs) g.types.delete(o);
    }
    const replaced = m.nodes.filter((n) => !kept.has(n)).map((n) => ({ ...n }));
    last.op = "MultiHeadAttention";
    last.domain = MS_DOMAIN;
    last.name = m.first.name;
    last.inputs = bias ? [m.q, m.k, m.v, "", "", bias] : [m.q, m.k, m.v];
    last.attrs = { num_heads: m.heads, scale: m.scale };
    if (m.causal !== undefined) {
      last.attrs.unidirectional = 1;
      last.attrs.mask_filter_value = m.causal;
    }
    last.spans = mergeSpans(...replaced);
    uses.add(last);
    noteRewrite(ctx, replaced);
  }
  if (fired === 0) return false;
  g.nodes = stableTopo(
    g.nodes.filter((n) => !removed.has(n)).flatMap((n) => [...(inserted.get(n) ?? []), n]),
  );
  return true;
});

/** A mask read by the pattern, before it becomes an attention_bias. */
interface Mask {
  value: string;
  /** "float": added to the scores; "bool": Where(value, scores, low). */
  kind: "float" | "bool";
  /** The fill value of a bool mask. */
  low?: number;
  node: Node;
}

interface Match {
  q: string;
  k: string;
  v: string;
  mask?: Mask;
  /** mask_filter_value of a recognised causal mask (unidirectional). */
  causal?: number;
  heads: number;
  scale: number;
  /** Query sequence length S and key length L. */
  S: Dim;
  L: Dim;
  first: Node;
  /** Every node of the pattern, the final Reshape last. */
  nodes: Node[];
  /** Head-split nodes, which other nodes may also read. */
  shared: Set<Node>;
}

function match(g: Graph, sm: Node, consts: Map<string, Tensor>, uses: Uses): Match | undefined {
  const axis = sm.attrs.axis ?? -1;
  if (axis !== -1 && axis !== 3) return undefined;
  const nodes: Node[] = [];
  // Backwards from the Softmax: optional causal Where and mask, optional scale, the score MatMul.
  let cur = producerOnlyFor(uses, sm.inputs[0], sm);
  let mask: Mask | undefined, causalLow: number | undefined;
  let causalC: string | undefined;
  for (let step = 0; step < 2 && (cur?.op === "Add" || cur?.op === "Where"); step++) {
    const n: Node = cur;
    let scores: string;
    if (n.op === "Add") {
      if (mask) return undefined;
      const first = uses.producer(n.inputs[0])?.op;
      const i = first && SCORES.has(first) ? 0 : 1;
      mask = { value: n.inputs[1 - i], kind: "float", node: n };
      scores = n.inputs[i];
    } else {
      const low = scalar(consts, n.inputs[2]);
      if (low === undefined || low > -1e30 || g.types.get(n.inputs[0])?.dtype !== "bool") {
        return undefined;
      }
      scores = n.inputs[1];
      if (causalC === undefined && step === 0) {
        causalC = n.inputs[0];
        causalLow = low;
      } else if (!mask) mask = { value: n.inputs[0], kind: "bool", low, node: n };
      else return undefined;
    }
    nodes.push(n);
    cur = producerOnlyFor(uses, scores, n);
  }
  let scale = 1;
  if (cur?.op === "Mul" || cur?.op === "Div") {
    const div = cur.op === "Div";
    const ci = div ? 1 : [0, 1].find((j) => scalar(consts, cur!.inputs[j]) !== undefined);
    if (ci === undefined) return undefined;
    const c = scalar(consts, cur.inputs[ci]);
    if (c === undefined || c === 0) return undefined;
    scale = div ? 1 / c : c;
    nodes.push(cur);
    cur = producerOnlyFor(uses, cur.inputs[1 - ci], cur);
  }
  if (cur?.op !== "MatMul") return undefined;
  const qk = cur;
  nodes.push(qk);
  const q = heads(g, uses, qk.inputs[0], [0, 2, 1, 3]);
  const k = heads(g, uses, qk.inputs[1], [0, 2, 3, 1]) ?? keyViaSwap(g, uses, qk.inputs[1], qk);
  if (!q || !k) return undefined;
  // Forwards from the Softmax: MatMul with v, Transpose back, Reshape to [B, S, Dv].
  const av = sole(uses, sm.outputs[0], "MatMul");
  if (!av || av.inputs[0] !== sm.outputs[0]) return undefined;
  const v = heads(g, uses, av.inputs[1], [0, 2, 1, 3]);
  const tr = sole(uses, av.outputs[0], "Transpose");
  if (!v || !tr || !samePerm(tr, [0, 2, 1, 3])) return undefined;
  const rs = sole(uses, tr.outputs[0], "Reshape");
  if (!rs || rs.inputs[0] !== tr.outputs[0]) return undefined;
  // Shapes: Q [B, S, D], K [B, L, D], V [B, L, Dv], n heads, output [B, S, Dv].
  const [qt, kt, vt] = [q.x, k.x, v.x].map((x) => g.types.get(x));
  const yt = g.types.get(rs.outputs[0]);
  const n = q.heads;
  if (!qt || !kt || !vt || !yt || qt.dtype !== "f32") return undefined;
  if (k.heads !== n || v.heads !== n || typeof n !== "number") return undefined;
  const [B, S, D] = qt.shape, [kb, L, kd] = kt.shape, [vb, vl, Dv] = vt.shape;
  const eq = dimEquals;
  if (!eq(kb, B) || !eq(vb, B) || !eq(kd, D) || !eq(vl, L)) return undefined;
  if (yt.shape.length !== 3 || !eq(yt.shape[0], B) || !eq(yt.shape[1], S) || !eq(yt.shape[2], Dv)) {
    return undefined;
  }
  if (!eq(q.size, dimDiv(D, n)) || !eq(k.size, q.size) || !eq(v.size, dimDiv(Dv, n))) {
    return undefined;
  }
  let causal: number | undefined;
  if (causalC !== undefined) {
    if (eq(S, L) && isCausal(g, causalC, S, consts, uses)) causal = causalLow;
    else if (!mask) mask = { value: causalC, kind: "bool", low: causalLow, node: nodes[0] };
    else return undefined;
  }
  if (mask && !biasFits(g, mask, B, n, S, L)) return undefined;
  nodes.push(...q.nodes, ...k.nodes, ...v.nodes, sm, av, tr, rs);
  return {
    q: q.x,
    k: k.x,
    v: v.x,
    mask,
    causal,
    heads: n,
    scale,
    S,
    L,
    first: qk,
    nodes: [...new Set(nodes)].filter((x) => x !== rs).concat(rs),
    shared: new Set([...q.nodes, ...k.nodes, ...v.nodes].filter((x) => !k.own.includes(x))),
  };
}

/** Ops that produce the scores an additive mask is added to. */
const SCORES = new Set(["MatMul", "Mul", "Div"]);

/**
 * Whether the mask, right-aligned against the scores [B, n, S, L], can
 * become an attention_bias [B or 1, n or 1, S, L] by unsqueezing leading
 * axes and expanding a dim S of 1.
 */
function biasFits(g: Graph, m: Mask, B: Dim, n: number, S: Dim, L: Dim): boolean {
  const mt = g.types.get(m.value);
  if (!mt || mt.shape.length > 4 || mt.shape.length < 1) return false;
  if (mt.dtype !== (m.kind === "bool" ? "bool" : "f32")) return false;
  const s = [...Array(4 - mt.shape.length).fill(1), ...mt.shape];
  const oneOr = (d: Dim, want: Dim) => d === 1 || dimEquals(d, want);
  return oneOr(s[0], B) && oneOr(s[1], n) && oneOr(s[2], S) && dimEquals(s[3], L);
}

/**
 * The attention_bias value for a match's mask, building (into `added`) the
 * nodes that turn it into a float [B or 1, n or 1, S, L] unless an earlier
 * match built the same one.
 */
function biasFor(
  g: Graph,
  m: Match,
  uses: Uses,
  cache: Map<string, string>,
  added: Node[],
  taken: Set<string>,
): string {
  const mask = m.mask!;
  const key = `${mask.kind}\u0000${mask.value}\u0000${String(m.S)}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const base = m.first.name;
  const mt = g.types.get(mask.value)!;
  const spans = mask.node.spans;
  const add = (op: string, inputs: string[], shape: Dim[], dtype: DType, attrs = {}): string => {
    const out = freshName(g, `${base}.bias`, taken);
    g.types.set(out, { dtype, shape });
    const node: Node = {
      name: freshName(g, `${base}_bias`, taken),
      op,
      inputs,
      outputs: [out],
      attrs,
    };
    if (spans) node.spans = spans;
    added.push(node);
    uses.add(node);
    return out;
  };
  const constant = (t: Tensor): string => {
    const name = freshName(g, `${base}.bias_const`, taken);
    g.initializers.set(name, t);
    g.types.set(name, { dtype: t.dtype, shape: [...t.shape] });
    return name;
  };
  let x = mask.value;
  let shape = [...mt.shape];
  if (mask.kind === "bool") {
    // Where(C, s, low) = s + Where(C, 0, low) for scores far from low.
    const zero = constant(tensor("f32", [], [0]));
    const low = constant(tensor("f32", [], [mask.low!]));
    x = add("Where", [x, zero, low], shape, "f32");
  }
  if (shape.length < 4) {
    const lead = 4 - shape.length;
    const axes = constant(tensor("i64", [lead], [...Array(lead).keys()]));
    shape = [...Array(lead).fill(1), ...shape];
    x = add("Unsqueeze", [x, axes], shape, "f32");
  }
  if (shape[2] === 1 && !dimEquals(m.S, 1)) {
    // Expand broadcasts against [1, 1, S, 1]; S read from Q's shape when symbolic.
    let target: string;
    if (typeof m.S === "number") target = constant(tensor("i64", [4], [1, 1, m.S, 1]));
    else {
      const s = add("Shape", [m.q], [1], "i64", { start: 1, end: 2 });
      const ones2 = constant(tensor("i64", [2], [1, 1]));
      const one = constant(tensor("i64", [1], [1]));
      target = add("Concat", [ones2, s, one], [4], "i64", { axis: 0 });
    }
    shape = [shape[0], shape[1], m.S, shape[3]];
    x = add("Expand", [x, target], shape, "f32");
  }
  cache.set(key, x);
  return x;
}

/**
 * Whether the bool mask `c` is causal over S positions: c[i, j] = (j <= i),
 * as LessOrEqual(Unsqueeze(pk, [0]), Unsqueeze(pq, [1])) of two ranges
 * 0..S-1, or as a constant [S, S].
 */
function isCausal(
  g: Graph,
  c: string,
  S: Dim,
  consts: Map<string, Tensor>,
  uses: Uses,
): boolean {
  const ct = g.types.get(c);
  if (!ct || ct.shape.length !== 2 || !dimEquals(ct.shape[0], S) || !dimEquals(ct.shape[1], S)) {
    return false;
  }
  const t = consts.get(c);
  if (t) {
    const n = t.shape[0];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) if (Boolean(t.data[i * n + j]) !== (j <= i)) return false;
    }
    return true;
  }
  const le = uses.producer(c);
  if (le?.op !== "LessOrEqual" || le.domain) return false;
  const pk = unsqueezed(uses, consts, le.inputs[0], 0);
  const pq = unsqueezed(uses, consts, le.inputs[1], 1);
  return pk !== undefined && pq !== undefined && isRange(g, pk, S, consts, uses) &&
    isRange(g, pq, S, consts, uses);
}

/** x when `value` = Unsqueeze(x, [axis]). */
function unsqueezed(
  uses: Uses,
  consts: Map<string, Tensor>,
  value: string,
  axis: number,
): string | undefined {
  const u = uses.producer(value);
  if (u?.op !== "Unsqueeze" || u.domain) return undefined;
  const axes = consts.get(u.inputs[1]);
  return axes && axes.data.length === 1 && Number(axes.data[0]) === axis ? u.inputs[0] : undefined;
}

/**
 * Whether `value` is the positions 0..S-1 (i64 [S]): a constant, or the
 * cumulative sum of ones that rangeAlong() builds for a symbolic length,
 * Sub(CumSum(Add(Mul(x, 0), 1), 0), 1).
 */
function isRange(
  g: Graph,
  value: string,
  S: Dim,
  consts: Map<string, Tensor>,
  uses: Uses,
): boolean {
  const t = g.types.get(value);
  if (!t || t.dtype !== "i64" || t.shape.length !== 1 || !dimEquals(t.shape[0], S)) return false;
  const c = consts.get(value);
  if (c) return [...c.data].every((x, i) => Number(x) === i);
  const is = (v: string, op: string, k: number): Node | undefined => {
    const p = uses.producer(v);
    return p?.op === op && !p.domain && scalar(consts, p.inputs[1]) === k ? p : undefined;
  };
  const sub = is(value, "Sub", 1);
  const cs = sub && is(sub.inputs[0], "CumSum", 0);
  const ones = cs && is(cs.inputs[0], "Add", 1);
  return !!ones && !!is(ones.inputs[0], "Mul", 0) && !cs!.attrs.exclusive && !cs!.attrs.reverse;
}

interface Heads {
  /** The [B, T, n * h] value split into heads. */
  x: string;
  heads: number | string;
  size: number | string;
  nodes: Node[];
  /** Nodes only the pattern reads (the key's swap); the rest may be shared. */
  own: Node[];
}

/** value = Transpose(Reshape(x, [B, T, n, h]), perm); either value may have other readers. */
function heads(g: Graph, uses: Uses, value: string, perm: number[]): Heads | undefined {
  const tr = plain(uses.producer(value));
  if (tr?.op !== "Transpose" || !samePerm(tr, perm)) return undefined;
  const rs = plain(uses.producer(tr.inputs[0]));
  if (rs?.op !== "Reshape") return undefined;
  const xt = g.types.get(rs.inputs[0]), rt = g.types.get(rs.outputs[0]);
  if (!xt || !rt || xt.shape.length !== 3 || rt.shape.length !== 4) return undefined;
  if (!dimEquals(rt.shape[0], xt.shape[0]) || !dimEquals(rt.shape[1], xt.shape[1])) {
    return undefined;
  }
  return { x: rs.inputs[0], heads: rt.shape[2], size: rt.shape[3], nodes: [rs, tr], own: [] };
}

/** K as Transpose([0, 1, 3, 2]) of the heads of K taken with perm [0, 2, 1, 3]. */
function keyViaSwap(g: Graph, uses: Uses, value: string, reader: Node): Heads | undefined {
  const sw = producerOnlyFor(uses, value, reader);
  if (sw?.op !== "Transpose" || !samePerm(sw, [0, 1, 3, 2])) return undefined;
  const h = heads(g, uses, sw.inputs[0], [0, 2, 1, 3]);
  return h && { ...h, nodes: [...h.nodes, sw], own: [sw] };
}

function samePerm(n: Node, perm: number[]): boolean {
  const p = n.attrs.perm;
  return Array.isArray(p) && p.length === perm.length && p.every((x, i) => x === perm[i]);
}
