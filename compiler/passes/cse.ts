/**
 * Common subexpression elimination: two nodes that compute the same op of
 * the same inputs with the same attributes give the same values, so the
 * later one is dropped and its readers read the earlier one's outputs.
 *
 *   y1 = Op[a](x1, x2)   ...   y2 = Op[a](x1, x2)   =>   y2 := y1
 *
 * dlm's blocks rebuild the same small subgraphs at every layer (GPT-2's
 * position ranges and causal mask, once per attention layer); after CSE
 * they are computed once. Random ops, nodes with subgraphs and nodes that
 * define graph outputs are left alone. The kept node carries the spans of
 * both.
 */
import type { AttrValue, Graph, Node } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { getOp } from "../ops/registry.ts";
import { mergeSpans, noteRewrite, type PassContext } from "./context.ts";
import { hasSubgraph, isTensor, Uses } from "./rewrite.ts";

export function cse(g: Graph, ctx: PassContext): boolean {
  const outputs = new Set(g.outputs.map((o) => o.name));
  const uses = new Uses(g);
  const seen = new Map<string, Node>();
  const removed = new Set<Node>();
  for (const n of g.nodes) {
    if (hasSubgraph(n) || n.outputs.some((o) => outputs.has(o))) continue;
    if (getOp(n.op, n.domain ?? "")?.nature?.includes("random")) continue;
    const key = nodeKey(n);
    if (key === undefined) continue;
    const first = seen.get(key);
    if (!first) {
      seen.set(key, n);
      continue;
    }
    n.outputs.forEach((o, i) => {
      if (o && first.outputs[i]) uses.replace(o, first.outputs[i]);
    });
    first.spans = mergeSpans(first, n);
    noteRewrite(ctx, [n]);
    uses.drop(n);
    removed.add(n);
    for (const o of n.outputs) if (o) g.types.delete(o);
  }
  if (removed.size === 0) return false;
  g.nodes = g.nodes.filter((n) => !removed.has(n));
  return true;
}

/** What makes two nodes compute the same thing; undefined for nodes never merged. */
function nodeKey(n: Node): string | undefined {
  const attrs = Object.keys(n.attrs).sort().map((k) => `${k}=${attrKey(n.attrs[k])}`);
  return `${n.domain ?? ""}::${n.op}(${n.inputs.join(",")})[${
    attrs.join(";")
  }]#${n.outputs.length}`;
}

function attrKey(v: AttrValue): string {
  if (isTensor(v)) return tensorKey(v);
  return JSON.stringify(v);
}

function tensorKey(t: Tensor): string {
  // Attribute tensors are small (ConstantOfShape's value, Constant's value).
  const data = t.dtype === "str"
    ? (t.data as string[]).join("\u0000")
    : Array.from(t.data as ArrayLike<number | bigint>, String).join(",");
  return `${t.dtype}[${t.shape}]{${data}}`;
}
