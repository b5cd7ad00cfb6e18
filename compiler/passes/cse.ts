/**
 * Common subexpression elimination: two nodes that compute the same op of
 * the same inputs with the same attributes give the same values, so the
 * later one is dropped and its readers read the earlier one's outputs.
 *
 *   y1 = Op[a](x1, x2)   ...   y2 = Op[a](x1, x2)   =>   y2 := y1
 *
 * dlm's blocks rebuild the same small subgraphs at every layer (GPT-2's
 * position ranges and causal mask, once per attention layer); after CSE
 * they are computed once. A node of an op with optional outputs merges into
 * an earlier one that computes fewer of them, which then computes them all
 * (a MaxPool and the MaxPool with Indices its gradient needs). Random ops,
 * nodes with subgraphs and nodes that define graph outputs are left alone.
 * The kept node carries the spans of both. Small constant initializers count
 * by value, not by name.
 */
import type { AttrValue, Graph, Node } from "../ir/graph.ts";
import { numel, type Tensor } from "../ir/tensor.ts";
import { constantKey } from "../ir/expr.ts";
import { getOp } from "../ops/mod.ts";
import { definePass, mergeSpans, noteRewrite, type PassContext } from "./context.ts";
import { hasSubgraph, isTensor, Uses } from "./match.ts";

export const cse = definePass({ id: "cse" }, (g, ctx) => {
  const outputs = new Set(g.outputs.map((o) => o.name));
  const uses = new Uses(g);
  const seen = new Map<string, Node>();
  const removed = new Set<Node>();
  const byValue = smallConstants(g, ctx);
  for (const n of g.nodes) {
    if (hasSubgraph(n) || n.outputs.some((o) => outputs.has(o))) continue;
    if (getOp(n.op, n.domain ?? "")?.nature?.includes("random")) continue;
    const key = nodeKey(n, byValue);
    if (key === undefined) continue;
    const first = seen.get(key);
    if (!first) {
      seen.set(key, n);
      continue;
    }
    n.outputs.forEach((o, i) => {
      if (!o) return;
      if (first.outputs[i]) uses.replace(o, first.outputs[i]);
      else {
        // An optional output only the later node computes (MaxPool's Indices for its
        // gradient): the earlier node computes it too, under the same name.
        while (first.outputs.length < i) first.outputs.push("");
        first.outputs[i] = o;
      }
    });
    first.spans = mergeSpans(first, n);
    noteRewrite(ctx, [n]);
    uses.drop(n);
    for (const o of first.outputs) if (o && n.outputs.includes(o)) uses.adopt(o, first);
    removed.add(n);
    for (const o of n.outputs) if (o && !first.outputs.includes(o)) g.types.delete(o);
  }
  if (removed.size === 0) return false;
  g.nodes = g.nodes.filter((n) => !removed.has(n));
  return true;
});

/**
 * Ops whose trailing outputs are optional extras that leave the others
 * unchanged: nodes that differ only in which of them they compute merge
 * into one that computes all of them.
 */
const OPTIONAL_OUTPUTS = new Set([
  "MaxPool",
  "BatchNormalization",
  "LayerNormalization",
  "RNN",
  "GRU",
  "LSTM",
]);

/**
 * Constant initializers of at most this many elements are compared by value: two builders that
 * each made a `1.0` (a gradient rule's and a pass's) name it differently, and the nodes that read
 * them still compute the same thing.
 */
const BY_VALUE_ELEMENTS = 16;

/** Initializer name -> a key of its value, for the small constants of `g` (not parameters). */
function smallConstants(g: Graph, ctx: PassContext): Map<string, string> {
  const out = new Map<string, string>();
  const vars = ctx.keepParams ? new Set(g.params.map((p) => p.name)) : new Set<string>();
  for (const i of g.inputs) vars.add(i.name);
  for (const [name, t] of g.initializers) {
    // numel, not t.data.length: reading `data` draws a lazy weight (ir/init.ts), 100 MB for
    // ResNet-50, which compiling otherwise draws a chunk at a time as it writes the file.
    if (vars.has(name) || numel(t.shape) > BY_VALUE_ELEMENTS || t.dtype === "str") continue;
    out.set(name, `=${constantKey(t)}`);
  }
  return out;
}

/** What makes two nodes compute the same thing; undefined for nodes never merged. */
function nodeKey(n: Node, byValue: Map<string, string>): string | undefined {
  const attrs = Object.keys(n.attrs).sort().map((k) => `${k}=${attrKey(n.attrs[k])}`);
  const outputs = !n.domain && OPTIONAL_OUTPUTS.has(n.op) ? "" : `#${n.outputs.length}`;
  const inputs = n.inputs.map((i) => byValue.get(i) ?? i);
  return `${n.domain ?? ""}::${n.op}(${inputs.join(",")})[${attrs.join(";")}]${outputs}`;
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
