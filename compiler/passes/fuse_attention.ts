/**
 * fuse_attention: scaled dot-product attention over heads, spelled out with
 * Reshape / Transpose / MatMul / Softmax -> com.microsoft MultiHeadAttention.
 * Target "ort" only.
 */
import type { Graph, Node } from "../ir/graph.ts";
import { type Tensor, tensor, toNumbers } from "../ir/tensor.ts";
import { dimDiv, dimEquals } from "../ops/dims.ts";
import { MS_DOMAIN } from "../ops/contrib/common.ts";
import { mergeSpans, noteRewrite, type PassContext } from "./context.ts";
import { constantTable, freshName, hasSubgraph, Uses } from "./rewrite.ts";

/**
 * With Q [B, S, D], K [B, L, D], V [B, L, Dv] split into n heads of size
 * h = D / n (value heads Dv / n):
 *
 *   q = Transpose(Reshape(Q, [B, S, n, h]), perm = [0, 2, 1, 3])        [B, n, S, h]
 *   k = Transpose(Reshape(K, [B, L, n, h]), perm = [0, 2, 3, 1])        [B, n, h, L]
 *       (or Transpose(Transpose(Reshape(K), [0, 2, 1, 3]), [0, 1, 3, 2]))
 *   v = Transpose(Reshape(V, [B, L, n, hv]), perm = [0, 2, 1, 3])       [B, n, L, hv]
 *   a = Softmax(Mul(MatMul(q, k), c) | Div(MatMul(q, k), c) (+ M), axis = -1)
 *   Y = Reshape(Transpose(MatMul(a, v), perm = [0, 2, 1, 3]), [B, S, Dv])
 *
 * is MultiHeadAttention(Q, K, V; num_heads = n, scale = c or 1 / c), the
 * additive mask M (float, [B or 1, n or 1, S, L], or [S, L] which is
 * unsqueezed to [1, 1, S, L]) becoming its attention_bias. Without a scaling
 * node, scale = 1.
 *
 * Conditions: f32 (onnxruntime's CPU kernel); the scale is a constant scalar;
 * the shapes are as above (read from the recorded types, so a Reshape
 * written with 0 or -1 qualifies); every intermediate value feeds only the
 * next node (Q, K, V and M may feed anything). The fused node takes the
 * first MatMul's name, the final Reshape's output and position, and the
 * spans of all the nodes it replaced.
 */
export function fuseAttention(g: Graph, ctx: PassContext): boolean {
  const consts = constantTable(g, { ...ctx, keepParams: false });
  const uses = new Uses(g);
  const removed = new Set<Node>();
  const inserted: [Node, Node][] = [];
  for (const sm of g.nodes) {
    if (sm.op !== "Softmax" || sm.domain || removed.has(sm)) continue;
    const m = match(g, sm, consts, uses);
    if (!m) continue;
    const last = m.nodes[m.nodes.length - 1];
    const replaced = m.nodes.map((n) => ({ ...n }));
    let mask = m.mask;
    if (mask && g.types.get(mask)!.shape.length === 2) {
      // attention_bias is rank 4: [S, L] -> [1, 1, S, L].
      const mt = g.types.get(mask)!;
      const axes = freshName(g, `${m.first.name}.bias_axes`);
      g.initializers.set(axes, tensor("i64", [2], [0, 1]));
      g.types.set(axes, { dtype: "i64", shape: [2] });
      const out = freshName(g, `${m.first.name}.bias`);
      g.types.set(out, { dtype: mt.dtype, shape: [1, 1, ...mt.shape] });
      const un: Node = {
        name: freshName(g, `${m.first.name}_bias`),
        op: "Unsqueeze",
        inputs: [mask, axes],
        outputs: [out],
        attrs: {},
      };
      if (m.maskNode?.spans) un.spans = m.maskNode.spans;
      inserted.push([un, last]);
      uses.add(un);
      mask = out;
    }
    for (const n of m.nodes) {
      uses.drop(n);
      if (n === last) continue;
      removed.add(n);
      for (const o of n.outputs) g.types.delete(o);
    }
    last.op = "MultiHeadAttention";
    last.domain = MS_DOMAIN;
    last.name = m.first.name;
    last.inputs = mask ? [m.q, m.k, m.v, "", "", mask] : [m.q, m.k, m.v];
    last.attrs = { num_heads: m.heads, scale: m.scale };
    last.spans = mergeSpans(...m.nodes);
    uses.add(last);
    noteRewrite(ctx, replaced);
  }
  if (removed.size === 0) return false;
  const before = new Map(inserted.map(([n, at]) => [at, n]));
  g.nodes = g.nodes.filter((n) => !removed.has(n)).flatMap((n) =>
    before.has(n) ? [before.get(n)!, n] : [n]
  );
  return true;
}

interface Match {
  q: string;
  k: string;
  v: string;
  mask?: string;
  maskNode?: Node;
  heads: number;
  scale: number;
  first: Node;
  /** Every node of the pattern, the final Reshape last. */
  nodes: Node[];
}

function match(g: Graph, sm: Node, consts: Map<string, Tensor>, uses: Uses): Match | undefined {
  const axis = sm.attrs.axis ?? -1;
  if (axis !== -1 && axis !== 3) return undefined;
  const nodes: Node[] = [];
  // Backwards from the Softmax: optional mask Add, optional scale, the score MatMul.
  let cur = producer(uses, sm.inputs[0], sm);
  let mask: string | undefined, maskNode: Node | undefined;
  if (cur?.op === "Add") {
    const scoresFirst = producerOf(uses, cur.inputs[0])?.op;
    const i = scoresFirst === "MatMul" || scoresFirst === "Mul" || scoresFirst === "Div" ? 0 : 1;
    mask = cur.inputs[1 - i];
    maskNode = cur;
    nodes.push(cur);
    cur = producer(uses, cur.inputs[i], cur);
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
    cur = producer(uses, cur.inputs[1 - ci], cur);
  }
  if (cur?.op !== "MatMul") return undefined;
  const qk = cur;
  nodes.push(qk);
  const q = heads(g, uses, qk.inputs[0], qk, [0, 2, 1, 3]);
  const k = heads(g, uses, qk.inputs[1], qk, [0, 2, 3, 1]) ?? keyViaSwap(g, uses, qk.inputs[1], qk);
  if (!q || !k) return undefined;
  // Forwards from the Softmax: MatMul with v, Transpose back, Reshape to [B, S, Dv].
  const av = sole(uses, sm.outputs[0], "MatMul");
  if (!av || av.inputs[0] !== sm.outputs[0]) return undefined;
  const v = heads(g, uses, av.inputs[1], av, [0, 2, 1, 3]);
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
  if (mask !== undefined) {
    const mt = g.types.get(mask);
    if (!mt || mt.dtype !== "f32") return undefined;
    const ms = mt.shape;
    const ok = ms.length === 4
      ? (ms[0] === 1 || eq(ms[0], B)) && (ms[1] === 1 || eq(ms[1], n)) && eq(ms[2], S) &&
        eq(ms[3], L)
      : ms.length === 2 && eq(ms[0], S) && eq(ms[1], L);
    if (!ok) return undefined;
  }
  nodes.push(...q.nodes, ...k.nodes, ...v.nodes, sm, av, tr, rs);
  return {
    q: q.x,
    k: k.x,
    v: v.x,
    mask,
    maskNode,
    heads: n,
    scale,
    first: qk,
    nodes: [...new Set(nodes)].filter((x) => x !== rs).concat(rs),
  };
}

interface Heads {
  /** The [B, T, n * h] value split into heads. */
  x: string;
  heads: number | string;
  size: number | string;
  nodes: Node[];
}

/** value = Transpose(Reshape(x, [B, T, n, h]), perm), read by `reader` alone. */
function heads(
  g: Graph,
  uses: Uses,
  value: string,
  reader: Node,
  perm: number[],
): Heads | undefined {
  const tr = producer(uses, value, reader);
  if (tr?.op !== "Transpose" || !samePerm(tr, perm)) return undefined;
  const rs = producer(uses, tr.inputs[0], tr);
  if (rs?.op !== "Reshape") return undefined;
  const xt = g.types.get(rs.inputs[0]), rt = g.types.get(rs.outputs[0]);
  if (!xt || !rt || xt.shape.length !== 3 || rt.shape.length !== 4) return undefined;
  if (!dimEquals(rt.shape[0], xt.shape[0]) || !dimEquals(rt.shape[1], xt.shape[1])) {
    return undefined;
  }
  return { x: rs.inputs[0], heads: rt.shape[2], size: rt.shape[3], nodes: [rs, tr] };
}

/** K as Transpose([0, 1, 3, 2]) of the heads of K taken with perm [0, 2, 1, 3]. */
function keyViaSwap(g: Graph, uses: Uses, value: string, reader: Node): Heads | undefined {
  const sw = producer(uses, value, reader);
  if (sw?.op !== "Transpose" || !samePerm(sw, [0, 1, 3, 2])) return undefined;
  const h = heads(g, uses, sw.inputs[0], sw, [0, 2, 1, 3]);
  return h && { ...h, nodes: [...h.nodes, sw] };
}

function samePerm(n: Node, perm: number[]): boolean {
  const p = n.attrs.perm;
  return Array.isArray(p) && p.length === perm.length && p.every((x, i) => x === perm[i]);
}

/** The producer of `value` when `reader` is its sole reader (default domain, no subgraph). */
function producer(uses: Uses, value: string, reader: Node): Node | undefined {
  const p = uses.producer(value);
  if (!p || p.domain || hasSubgraph(p) || uses.soleReader(value) !== reader) return undefined;
  return p;
}

function producerOf(uses: Uses, value: string): Node | undefined {
  return uses.producer(value);
}

/** The sole reader of `value` when it is an `op` node of the default domain. */
function sole(uses: Uses, value: string, op: string): Node | undefined {
  const r = uses.soleReader(value);
  return r && r.op === op && !r.domain && !hasSubgraph(r) ? r : undefined;
}

/** The value of a one-element float constant. */
function scalar(consts: Map<string, Tensor>, name: string): number | undefined {
  const t = consts.get(name);
  if (!t || t.data.length !== 1 || t.dtype === "str" || t.dtype === "bool") return undefined;
  return toNumbers(t)[0];
}
