/**
 * columns_matmul: a training step's 1x1 convolution inside the columns layout as one MatMul of
 * its weight by the twin it reads, which writes the next twin itself.
 */
import type { Graph, Node } from "../ir/graph.ts";
import { definePass, mergeSpans, noteRewrite } from "./context.ts";
import { plain, Uses } from "./match.ts";

/**
 * In the columns layout (columns_layout.ts) a map is its twin T [1, C, P], channels on axis 1
 * and the positions of every sample on axis 2. A 1x1 convolution there is conv_columns' Gemm of
 * its weight W [O, K] by T as [K, P], reshaped to the next twin:
 *
 *   y = Reshape(Gemm(W, Reshape(T, [K, P])), [1, O, P])
 *
 * and MatMul broadcasts W over T's leading 1: MatMul(W, T) [1, O, P] is the same product in
 * one node, the Reshape after it gone (y[0, o, p] = sum_k W[o, k] T[0, k, p], the Gemm's sums;
 * onnxruntime runs both as the same sgemm: the same bits, and in DenseNet-121's step its 34
 * such MatMuls take 3.35 ms against the Gemms' 3.28, node minima of one run each). A step of
 * fewer nodes, not a faster one: DenseNet-121 -34, ShuffleNetV2 -26, MobileNetV2 -20. The
 * Reshape before it stays when the weight gradient's Gemm reads T as [K, P] too (every trained
 * convolution's does), else dce takes it.
 *
 * Runs in train mode after columns_layout (trainStepPipeline). Conditions: a plain Gemm of two
 * operands, no transpose, alpha 1, its output read by that Reshape alone; W [O, K] and T
 * [1, K, P] of one dtype; y [1, O, P].
 */
export const columnsMatmul = definePass({ id: "columns_matmul", modes: ["train"] }, (g, ctx) => {
  const uses = new Uses(g);
  const removed = new Set<Node>();
  for (const r of g.nodes) {
    if (plain(r)?.op !== "Reshape" || removed.has(r)) continue;
    const gemm = plain(uses.producer(r.inputs[0]));
    if (!gemm || gemm.op !== "Gemm" || uses.soleReader(r.inputs[0]) !== r) continue;
    const twin = twinOperand(g, gemm, r, uses);
    if (twin === undefined) continue;
    noteRewrite(ctx, [{ ...gemm }, { ...r }]);
    // The Reshape becomes the MatMul: it keeps its output name and position.
    uses.drop(gemm);
    uses.drop(r);
    g.types.delete(gemm.outputs[0]);
    r.op = "MatMul";
    r.name = gemm.name;
    r.inputs = [gemm.inputs[0], twin];
    r.attrs = {};
    r.spans = mergeSpans(gemm, r);
    uses.add(r);
    removed.add(gemm);
  }
  if (removed.size === 0) return false;
  g.nodes = g.nodes.filter((n) => !removed.has(n));
  return true;
});

/** The twin T that `gemm` reads as [K, P], when Reshape `r` of its result is the next twin. */
function twinOperand(g: Graph, gemm: Node, r: Node, uses: Uses): string | undefined {
  const { transA = 0, transB = 0, alpha = 1 } = gemm.attrs as Record<string, number | undefined>;
  if (gemm.inputs.length !== 2 || transA || transB || alpha !== 1) return undefined;
  const cols = plain(uses.producer(gemm.inputs[1]));
  if (cols?.op !== "Reshape") return undefined;
  const t = cols.inputs[0];
  const [wt, bt, tt, yt] = [gemm.inputs[0], gemm.inputs[1], t, r.outputs[0]].map((v) =>
    g.types.get(v)
  );
  if (!wt || !bt || !tt || !yt) return undefined;
  if (wt.dtype !== tt.dtype || wt.shape.length !== 2 || bt.shape.length !== 2) return undefined;
  const [o, k] = wt.shape;
  // T [1, K, P] read as [K, P]: the same elements in the same order.
  if (tt.shape.length !== 3 || tt.shape[0] !== 1 || tt.shape[1] !== k || bt.shape[0] !== k) {
    return undefined;
  }
  // y [1, O, P]: the Gemm's [O, P] with a leading 1.
  if (yt.shape.length !== 3 || yt.shape[0] !== 1 || yt.shape[1] !== o) return undefined;
  return t;
}
