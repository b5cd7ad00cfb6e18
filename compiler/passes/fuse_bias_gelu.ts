/**
 * fuse_bias_gelu: a bias Add feeding com.microsoft Gelu / FastGelu -> one
 * BiasGelu / FastGelu with its bias input. Target "ort" only.
 */
import type { Graph, Node } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { dimEquals } from "../ops/dims.ts";
import { MS_DOMAIN } from "../ops/contrib/common.ts";
import { definePass, mergeSpans, noteRewrite } from "./context.ts";
import { constantTable, producerOnlyFor, Uses } from "./match.ts";

/**
 * With b a vector over the last dim of x (broadcast over the rows):
 *
 *   Gelu(Add(x, b))      = BiasGelu(x, b)     = gelu(x + b), erf form
 *   FastGelu(Add(x, b))  = FastGelu(x, b)     = tanh-approximated gelu(x + b)
 *
 * (the Add's operands in either order). A linear layer on [N, T, C] leaves
 * exactly this: MatMul then the bias Add, then the activation.
 *
 * Conditions: b is a constant (parameters included: only its shape matters)
 * of shape [H], H the last dim of x, and of x's dtype; x has the Add's output
 * shape (the bias does not broadcast x up); the Add's output feeds only the
 * Gelu. The fused node keeps the Gelu's name, output and position, and the
 * spans of both nodes.
 */
export const fuseBiasGelu = definePass({ id: "fuse_bias_gelu" }, (g, ctx) => {
  const consts = constantTable(g, { ...ctx, keepParams: false });
  const uses = new Uses(g);
  const removed = new Set<Node>();
  for (const act of g.nodes) {
    if (act.domain !== MS_DOMAIN || (act.op !== "Gelu" && act.op !== "FastGelu")) continue;
    if (act.op === "FastGelu" && act.inputs[1]) continue;
    const add = producerOnlyFor(uses, act.inputs[0], act);
    if (add?.op !== "Add" || removed.has(add)) continue;
    const split = biasOf(g, add, consts);
    if (!split) continue;
    const replaced = [{ ...add }, { ...act }];
    uses.drop(add);
    uses.drop(act);
    removed.add(add);
    g.types.delete(add.outputs[0]);
    act.op = act.op === "Gelu" ? "BiasGelu" : "FastGelu";
    act.inputs = [split.x, split.bias];
    act.spans = mergeSpans(add, act);
    uses.add(act);
    noteRewrite(ctx, replaced);
  }
  if (removed.size === 0) return false;
  g.nodes = g.nodes.filter((n) => !removed.has(n));
  return true;
});

/** Which operand of the Add is the bias vector, and which the full-shape input. */
function biasOf(
  g: Graph,
  add: Node,
  consts: Map<string, Tensor>,
): { x: string; bias: string } | undefined {
  if (add.inputs.length !== 2) return undefined;
  const out = g.types.get(add.outputs[0]);
  if (!out || out.shape.length < 1) return undefined;
  const h = out.shape[out.shape.length - 1];
  for (const [xi, bi] of [[0, 1], [1, 0]]) {
    const x = add.inputs[xi], bias = add.inputs[bi];
    const xt = g.types.get(x), b = consts.get(bias);
    if (!xt || !b || b.dtype !== xt.dtype || b.shape.length !== 1 || !dimEquals(b.shape[0], h)) {
      continue;
    }
    const full = xt.shape.length === out.shape.length &&
      xt.shape.every((d, i) => dimEquals(d, out.shape[i]));
    if (full) return { x, bias };
  }
  return undefined;
}
