/**
 * fuse_gemm: turn MatMul (+ bias Add) on rank-2 inputs into one Gemm.
 */
import type { Graph, Node } from "../ir/graph.ts";
import type { DType, Tensor } from "../ir/tensor.ts";
import { definePass, mergeSpans, noteRewrite } from "./context.ts";
import { constantTable, otherInput, sole, Uses } from "./match.ts";

/**
 * Gemm(A, B, C; alpha = 1, beta = 1, transB) = A B' + C, so with x of rank 2:
 *
 *   Add(MatMul(x, W), b)              = Gemm(x, W, b)              W a constant [K, N]
 *   Add(MatMul(x, Transpose(V)), b)   = Gemm(x, V, b; transB = 1)  V any [N, K]
 *   MatMul(x, Transpose(V))           = Gemm(x, V; transB = 1)
 *
 * (the Add in either operand order), where b is a constant of shape [N] or
 * [1, N], so it broadcasts over rows without changing the output shape.
 * Imported graphs spell linear layers this way; dlm's own `linear` already
 * emits Gemm with transB = 1.
 *
 * Conditions: the MatMul output feeds only the Add (no other node, no graph
 * output); x is rank 2; dtypes f32 or f64 (Gemm kernels everywhere). W and
 * b are initializers or Constant nodes, parameters included even in training
 * graphs: the rewrite does not read their values. A
 * Transpose (perm [1, 0]) is absorbed; it stays while other nodes read it.
 * The Gemm takes the MatMul's node name and the Add's output name (readers
 * are unchanged), sits where the Add was (all its inputs are defined by then)
 * and keeps the spans of every node it replaced.
 */
export const fuseGemm = definePass({ id: "fuse_gemm" }, (g, ctx) => {
  // The rewrite moves values without reading them, so a trainable weight or bias
  // (a variable under ctx.keepParams) qualifies as well: only its shape matters.
  const consts = constantTable(g, { ...ctx, keepParams: false });
  const uses = new Uses(g);
  const removed = new Set<Node>();
  for (const mm of g.nodes) {
    if (mm.op !== "MatMul" || mm.domain || removed.has(mm)) continue;
    const fused = fuseOne(g, mm, consts, uses);
    if (!fused) continue;
    for (const n of fused.removed) removed.add(n);
    noteRewrite(ctx, fused.replaced);
  }
  if (removed.size === 0) return false;
  g.nodes = g.nodes.filter((n) => !removed.has(n));
  return true;
});

const GEMM_TYPES: readonly DType[] = ["f32", "f64"];

function fuseOne(
  g: Graph,
  mm: Node,
  consts: Map<string, Tensor>,
  uses: Uses,
): { replaced: Node[]; removed: Node[] } | undefined {
  const [x, w] = mm.inputs;
  const y = mm.outputs[0];
  const xt = g.types.get(x);
  const wt = g.types.get(w);
  if (!xt || !wt || xt.shape.length !== 2 || wt.shape.length !== 2) return undefined;
  if (!GEMM_TYPES.includes(xt.dtype) || wt.dtype !== xt.dtype) return undefined;

  // B operand: V from MatMul(x, Transpose(V)), or a constant W.
  const tr = uses.producer(w);
  const transposed = !!tr && tr.op === "Transpose" && !tr.domain && isSwap(tr, g);
  const weight = transposed ? tr!.inputs[0] : w;
  const n = wt.shape[1];

  const add = sole(uses, y, "Add");
  const bias = add && biasOf(add, y, n, xt.dtype, consts);
  // Without a Transpose to absorb, only a constant weight with a bias is worth a Gemm.
  if (!transposed && (!bias || !consts.has(w))) return undefined;

  const attrs: Node["attrs"] = transposed ? { transB: 1 } : {};
  // Snapshots: the report names the nodes as they were before the rewrite.
  const replaced = (transposed ? [mm, tr!] : [mm]).map((n) => ({ ...n }));
  const removed: Node[] = [];
  let gemm: Node;
  if (bias) {
    // The Add becomes the Gemm: it keeps its output name and position.
    gemm = add!;
    replaced.push({ ...add! });
    uses.drop(add!);
    uses.drop(mm);
    gemm.op = "Gemm";
    gemm.name = mm.name;
    gemm.inputs = [x, weight, bias];
    gemm.attrs = attrs;
    gemm.spans = mergeSpans(mm, transposed ? tr : undefined, add);
    g.types.delete(y);
    removed.push(mm);
  } else {
    gemm = mm;
    uses.drop(mm);
    mm.op = "Gemm";
    mm.inputs = [x, weight];
    mm.attrs = attrs;
    mm.spans = mergeSpans(mm, tr);
  }
  uses.add(gemm);
  if (transposed && !uses.isUsed(w)) {
    uses.drop(tr!);
    g.types.delete(w);
    removed.push(tr!);
  }
  return { replaced, removed };
}

/** A Transpose of a rank-2 value with perm [1, 0] (or no perm: reversed axes). */
function isSwap(tr: Node, g: Graph): boolean {
  const t = g.types.get(tr.inputs[0]);
  if (!t || t.shape.length !== 2) return false;
  const perm = tr.attrs.perm;
  return perm === undefined || (Array.isArray(perm) && perm[0] === 1 && perm[1] === 0);
}

/** The Add's other operand when it is a constant bias [n] or [1, n] of the same dtype. */
function biasOf(
  add: Node,
  y: string,
  n: number | string,
  dtype: DType,
  consts: Map<string, Tensor>,
): string | undefined {
  const other = otherInput(add, y);
  if (other === undefined) return undefined;
  const b = consts.get(other);
  if (!b || b.dtype !== dtype) return undefined;
  const s = b.shape;
  const ok = (s.length === 1 && s[0] === n) || (s.length === 2 && s[0] === 1 && s[1] === n);
  return ok ? other : undefined;
}
