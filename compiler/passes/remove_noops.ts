/**
 * remove_noops: delete nodes whose output 0 equals their input 0 (or, for
 * a transpose undoing another, the first one's input).
 */
import type { Graph, Node } from "../ir/graph.ts";
import { numel, type Tensor, toNumbers } from "../ir/tensor.ts";
import { getOp } from "../ops/mod.ts";
import { definePass, noteRewrite, type PassContext } from "./context.ts";
import { allEqual, constantTable, hasSubgraph, isStatic, sameType, Uses } from "./match.ts";

/**
 * The identities this pass uses (x is input 0, c a constant):
 *
 *   Identity(x)                 = x
 *   Dropout(x)                  = x   eval mode; training_mode absent or false; mask unused
 *   Reshape(x, s)               = x   output type = input type, and either the shape is static
 *                                     or s pins every dim (s[i] = 0, s[i] = dim i, one -1 at most)
 *   Flatten(x, axis = 1)        = x   x of rank 2 (or the same static shape)
 *   Transpose(x, [0, .., r-1])  = x
 *   Transpose(Transpose(y, p1), p2) = y   p1[p2[i]] = i for every axis i
 *   Cast(x, to = dtype(x))      = x
 *   x * c = c * x = x / c       = x   c a single element, exactly 1
 *   x + c = c + x = x - c       = x   c a single element, exactly 0 (-0 + 0 = +0 is accepted)
 *   MatMul(x, c) = MatMul(c, x) = x   c a square identity matrix (a 1x1 convolution's col2im)
 *   Pad(x, pads = 0)            = x
 *   Concat(x)                   = x
 *   op(x, ...)                  = x   eval mode and `op` has the "eval-noop" nature
 *
 * Every rule also requires output 0 to have exactly the type of x (so `c`
 * never broadcasts x up) and the node's other outputs to be unused.
 *
 * Readers of the removed output read x instead. A removed output that is a
 * graph output keeps its name: x's producer is renamed to it. When x has no
 * producer (a graph input or an initializer) or is a graph output too, the
 * node stays.
 */
export const removeNoops = definePass({ id: "remove_noops" }, (g, ctx) => {
  const consts = constantTable(g, ctx);
  const uses = new Uses(g);
  const removed = new Set<Node>();
  for (const n of g.nodes) {
    const src = passThrough(g, n, ctx, consts, uses);
    if (src === undefined || !bypass(g, n, src, uses)) continue;
    removed.add(n);
    noteRewrite(ctx, [n]);
  }
  if (removed.size === 0) return false;
  g.nodes = g.nodes.filter((n) => !removed.has(n));
  return true;
});

/** [r-1, ..., 0]: Transpose's default perm. */
function reversed(r: number): number[] {
  return Array.from({ length: r }, (_, i) => r - 1 - i);
}

/** The input `n` provably outputs unchanged as output 0, else undefined. */
function passThrough(
  g: Graph,
  n: Node,
  ctx: PassContext,
  consts: Map<string, Tensor>,
  uses: Uses,
): string | undefined {
  const src = candidate(g, n, ctx, consts, uses);
  return src && sameType(g.types.get(src), g.types.get(n.outputs[0])) ? src : undefined;
}

/** The input that `n` passes through by one of the rules above (types checked by the caller). */
function candidate(
  g: Graph,
  n: Node,
  ctx: PassContext,
  consts: Map<string, Tensor>,
  uses: Uses,
): string | undefined {
  const x = n.inputs[0];
  const out = n.outputs[0];
  if (!x || !out || n.outputs.length === 0 || hasSubgraph(n)) return undefined;
  if (n.outputs.slice(1).some((o) => o && uses.isUsed(o))) return undefined;
  const tx = g.types.get(x);
  if (!tx) return undefined;
  const eval_ = ctx.mode === "eval";
  const c = (k: number) => (n.inputs[k] ? consts.get(n.inputs[k]) : undefined);
  const attrInts = (a: string) => (Array.isArray(n.attrs[a]) ? n.attrs[a] as number[] : undefined);

  if (n.domain) {
    return eval_ && getOp(n.op, n.domain)?.nature?.includes("eval-noop") ? x : undefined;
  }
  switch (n.op) {
    case "Identity":
      return x;
    case "Dropout": {
      if (!eval_) return undefined;
      // Dropout(x, ratio, training_mode): without training_mode (or false) it is the identity.
      if (!n.inputs[2]) return x;
      const t = c(2);
      return t && allEqual(t, 0) ? x : undefined;
    }
    case "Reshape":
      return isStatic(tx) || pinsEveryDim(n, tx.shape, c(1)) ? x : undefined;
    case "Flatten": {
      const axis = typeof n.attrs.axis === "number" ? n.attrs.axis : 1;
      return isStatic(tx) || (tx.shape.length === 2 && (axis === 1 || axis === -1)) ? x : undefined;
    }
    case "Transpose": {
      const r = tx.shape.length;
      const perm = attrInts("perm") ?? reversed(r);
      if (perm.every((p, i) => p === i)) return x;
      // Transpose(Transpose(y, p1), p2) = y when p1[p2[i]] = i (a gradient transposes back).
      const inner = uses.producer(x);
      if (inner?.op !== "Transpose" || inner.domain || !inner.inputs[0]) return undefined;
      const p1 = Array.isArray(inner.attrs.perm) ? inner.attrs.perm as number[] : reversed(r);
      return p1.length === r && perm.every((p, i) => p1[p] === i) ? inner.inputs[0] : undefined;
    }
    case "Cast":
      return x; // the types agree, so `to` is x's dtype
    case "Mul":
    case "Add":
      if (isScalarOf(c(1), n.op === "Mul" ? 1 : 0)) return x;
      return isScalarOf(c(0), n.op === "Mul" ? 1 : 0) && n.inputs[1] ? n.inputs[1] : undefined;
    case "MatMul":
      if (isIdentity(c(1))) return x;
      return isIdentity(c(0)) && n.inputs[1] ? n.inputs[1] : undefined;
    case "Div":
    case "Sub":
      return isScalarOf(c(1), n.op === "Div" ? 1 : 0) ? x : undefined;
    case "Pad": {
      const pads = n.inputs[1] ? c(1) : undefined;
      if (pads) return allEqual(pads, 0) ? x : undefined;
      const attr = attrInts("pads");
      return !n.inputs[1] && attr && attr.every((p) => p === 0) ? x : undefined;
    }
    case "Concat":
      return n.inputs.length === 1 ? x : undefined;
    default:
      return eval_ && getOp(n.op)?.nature?.includes("eval-noop") ? x : undefined;
  }
}

/** A 2-D square matrix with ones on the diagonal and zeros elsewhere. */
function isIdentity(t: Tensor | undefined): boolean {
  if (!t || t.shape.length !== 2 || t.shape[0] !== t.shape[1]) return false;
  const n = t.shape[0], v = toNumbers(t);
  return v.every((x, k) => x === (Math.floor(k / n) === k % n ? 1 : 0));
}

function isScalarOf(t: Tensor | undefined, v: number): boolean {
  return !!t && numel(t.shape) === 1 && allEqual(t, v);
}

/**
 * Reshape's shape `s` keeps every dim of x: same rank, each entry 0 (copy,
 * unless allowzero) or equal to the static dim, and at most one -1, which then
 * must be the one remaining dim.
 */
function pinsEveryDim(n: Node, dims: (number | string)[], s: Tensor | undefined): boolean {
  if (!s) return false;
  const spec = toNumbers(s);
  if (spec.length !== dims.length) return false;
  const allowZero = n.attrs.allowzero === 1;
  let holes = 0;
  return spec.every((v, i) => {
    if (v === -1) return ++holes <= 1;
    if (v === 0 && !allowZero) return true;
    return typeof dims[i] === "number" && v === dims[i];
  });
}

/** Rewire the readers of `n`'s output 0 to `src`; false when that cannot keep names right. */
function bypass(g: Graph, n: Node, src: string, uses: Uses): boolean {
  const dst = n.outputs[0];
  if (uses.isCaptured(dst) || uses.isCaptured(src)) return false;
  if (!uses.isGraphOutput(dst)) {
    uses.drop(n);
    uses.replace(dst, src);
    for (const o of n.outputs) if (o) g.types.delete(o);
    return true;
  }
  // dst is a graph output: its name stays, so src's producer must define it.
  const p = uses.producer(src);
  if (!p || uses.isGraphOutput(src) || hasSubgraph(p)) return false;
  uses.drop(n);
  const dstType = g.types.get(dst)!;
  for (const o of n.outputs) if (o) g.types.delete(o);
  uses.renameOutput(src, dst);
  g.types.set(dst, dstType);
  return true;
}
