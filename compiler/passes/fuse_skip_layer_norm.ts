/**
 * fuse_skip_layer_norm: a residual Add feeding a LayerNormalization over
 * the last axis -> com.microsoft SkipLayerNormalization. Target "ort" only.
 */
import type { Graph, Node, TensorType } from "../ir/graph.ts";
import { dimEquals } from "../ops/dims.ts";
import { MS_DOMAIN } from "../ops/contrib/common.ts";
import { definePass, mergeSpans, noteRewrite } from "./context.ts";
import { plain, stableTopo, Uses } from "./match.ts";

/**
 * The post-norm residual of a Transformer block, s = a + b; y = LN(s):
 *
 *   LayerNormalization(Add(a, b), gamma, beta; axis = -1, epsilon)
 *     = SkipLayerNormalization(a, b, gamma, beta; epsilon)          output 0
 *
 * and when other nodes also read the sum s (the pre-norm residual stream),
 * SkipLayerNormalization's 4th output (input_skip_bias_sum) is s, so the Add
 * goes too and its output name moves to that output.
 *
 * Conditions: a is [B, S, H] (f32 or f16) and b has a's shape, or is [S, H] /
 * [1, S, H] (then b is the skip; either operand order); the layer norm takes
 * the last axis, the default stash type, 1-D gamma and beta of length H, and
 * only its first output is used. The fused node keeps the layer norm's name,
 * output and position (later than the Add), and the spans of both.
 */
export const fuseSkipLayerNorm = definePass({ id: "fuse_skip_layer_norm" }, (g, ctx) => {
  const uses = new Uses(g);
  const removed = new Set<Node>();
  for (const ln of g.nodes) {
    if (ln.op !== "LayerNormalization" || ln.domain) continue;
    const add = plain(uses.producer(ln.inputs[0]));
    if (add?.op !== "Add" || removed.has(add)) continue;
    const s = add.outputs[0];
    if (uses.isCaptured(s) || !lnFits(g, ln, uses)) continue;
    const operands = order(g, add);
    if (!operands) continue;
    const shared = uses.readerCount(s) > 1 || uses.isGraphOutput(s);
    const replaced = [{ ...add }, { ...ln }];
    uses.drop(add);
    uses.drop(ln);
    removed.add(add);
    ln.op = "SkipLayerNormalization";
    ln.domain = MS_DOMAIN;
    ln.inputs = [operands.input, operands.skip, ...ln.inputs.slice(1).filter((i) => i)];
    ln.outputs = shared ? [ln.outputs[0], "", "", s] : [ln.outputs[0]];
    if (!shared) g.types.delete(s);
    ln.attrs = { epsilon: typeof ln.attrs.epsilon === "number" ? ln.attrs.epsilon : 1e-5 };
    ln.spans = mergeSpans(add, ln);
    uses.add(ln);
    noteRewrite(ctx, replaced);
  }
  if (removed.size === 0) return false;
  g.nodes = g.nodes.filter((n) => !removed.has(n));
  // The Add may be read by nodes between it and the layer norm: they now read
  // the fused node's 4th output, so it moves up to where the Add was.
  g.nodes = stableTopo(g.nodes);
  return true;
});

/** A layer norm over the last axis of a rank-3 f32/f16 input, 1-D gamma/beta, one output used. */
function lnFits(g: Graph, ln: Node, uses: Uses): boolean {
  const x = g.types.get(ln.inputs[0]);
  if (!x || x.shape.length !== 3 || (x.dtype !== "f32" && x.dtype !== "f16")) return false;
  const axis = ln.attrs.axis ?? -1;
  if (axis !== -1 && axis !== 2) return false;
  if ((ln.attrs.stash_type ?? 1) !== 1) return false;
  if (ln.outputs.slice(1).some((o) => o && uses.isUsed(o))) return false;
  const h = x.shape[2];
  const vec = (name: string | undefined) => {
    const t = name ? g.types.get(name) : undefined;
    return !!t && t.dtype === x.dtype && t.shape.length === 1 && dimEquals(t.shape[0], h);
  };
  return vec(ln.inputs[1]) && (!ln.inputs[2] || vec(ln.inputs[2]));
}

/** Which operand of the Add is SkipLayerNormalization's input (full shape) and which its skip. */
function order(g: Graph, add: Node): { input: string; skip: string } | undefined {
  if (add.inputs.length !== 2) return undefined;
  const out = g.types.get(add.outputs[0]);
  const same = (t: TensorType | undefined, shape: readonly (number | string)[]) =>
    !!t && t.dtype === out?.dtype && t.shape.length === shape.length &&
    t.shape.every((d, i) => dimEquals(d, shape[i]));
  if (!out) return undefined;
  const tail = out.shape.slice(1);
  for (const [i, k] of [[0, 1], [1, 0]]) {
    const a = g.types.get(add.inputs[i]), b = g.types.get(add.inputs[k]);
    if (!same(a, out.shape)) continue;
    if (same(b, out.shape) || same(b, tail) || same(b, [1, ...tail])) {
      return { input: add.inputs[i], skip: add.inputs[k] };
    }
  }
  return undefined;
}
