/**
 * elide_reshapes: elementwise ops between a Reshape and the Reshapes that read their results
 * run on the first Reshape's input, and the Reshapes that undo it go.
 */
import type { Dim, Node } from "../ir/graph.ts";
import { toNumbers } from "../ir/tensor.ts";
import { definePass, noteRewrite } from "./context.ts";
import {
  constantTable,
  ELEMENTWISE_BROADCAST,
  ELEMENTWISE_UNARY,
  plain,
  sameDims,
  Uses,
} from "./match.ts";

/** Ops whose output element i is a function of element i of each input. */
const ELEMENTWISE = new Set([...ELEMENTWISE_UNARY, ...ELEMENTWISE_BROADCAST]);

/**
 * A Reshape moves no element: it keeps their row-major order. So for r = Reshape(a, s) and
 * an elementwise op f (match.ts's sets) whose other operands are single elements,
 *
 *   Reshape(f(r, c), t) = Reshape(f(a, c), t)      (element i of both is f(a[i], c))
 *
 * and Reshape(v, t) with t a's shape is v itself. Applied to the whole region of such ops
 * that r feeds: when everything outside the region that reads a value of it is a Reshape,
 * the region runs on a's shape, r goes, and each Reshape back to a's shape goes (one that
 * reshapes to another shape stays, reading the region's value). Same elements, same
 * results, bit for bit; the gradients built from the result have no Reshapes there either.
 * A squeeze-and-excitation block (after pointwise_gemm) is Gemm, Reshape to [N, R, 1, 1],
 * SiLU, Reshape to [N, R], Gemm: its SiLU runs on the Gemm's [N, R], 2 nodes fewer in the
 * forward and 2 in the gradients.
 *
 * Conditions: a plain Reshape whose input and output have types; region ops plain, of the
 * set above, with output shape r's and every input a region value or a value of one element
 * whose rank is at most a's and r's; no region value is a graph output or read by a
 * subgraph; every outside reader of a region value is a plain Reshape by a constant shape
 * to a's shape (it goes, or stays when its output is a graph output) or with no 0 (a 0
 * copies its input's dim).
 * Runs in train mode before the gradients are built (`beforeGradientsPipeline`).
 */
export const elideReshapes = definePass({ id: "elide_reshapes", modes: ["train"] }, (g, ctx) => {
  const consts = constantTable(g, ctx);
  const uses = new Uses(g);
  const index = new Map<Node, number>();
  g.nodes.forEach((n, i) => index.set(n, i));
  let fired = 0;
  const removed = new Set<Node>();
  for (const r1 of g.nodes) {
    if (removed.has(r1) || plain(r1)?.op !== "Reshape") continue;
    const [a] = r1.inputs, r = r1.outputs[0];
    const ta = g.types.get(a), tr = g.types.get(r);
    if (!ta || !tr || uses.isGraphOutput(r) || uses.isCaptured(r)) continue;
    const region = regionOf(r, ta.shape, tr.shape);
    if (!region) continue;
    noteRewrite(ctx, [r1, ...region.nodes, ...region.undo]);
    for (const n of [...region.nodes, ...region.kept]) {
      uses.drop(n);
      n.inputs = n.inputs.map((i) => (i === r ? a : i));
      uses.add(n);
    }
    for (const n of region.nodes) {
      for (const o of n.outputs) g.types.set(o, { ...g.types.get(o)!, shape: [...ta.shape] });
    }
    for (const n of region.undo) {
      removed.add(n);
      uses.drop(n);
      const from = n.outputs[0];
      uses.replace(from, n.inputs[0] === r ? a : n.inputs[0]);
      g.types.delete(from);
    }
    removed.add(r1);
    uses.drop(r1);
    g.types.delete(r);
    fired++;
  }

  /**
   * The region r feeds, or undefined when something outside it reads a value of it other
   * than as the conditions allow.
   */
  function regionOf(
    r: string,
    aShape: readonly Dim[],
    rShape: readonly Dim[],
  ): { nodes: Node[]; undo: Node[]; kept: Node[] } | undefined {
    const values = new Set([r]);
    const nodes: Node[] = [], undo: Node[] = [], kept: Node[] = [];
    const scalar = (v: string) => {
      const t = g.types.get(v);
      return !!t && t.shape.every((d) => d === 1) && t.shape.length <= aShape.length &&
        t.shape.length <= rShape.length;
    };
    // Readers in the graph's (topological) order: a node's region inputs are known when it
    // is reached, and a node joining the region only adds readers after it.
    const pending = new Set(uses.readers(r));
    while (pending.size > 0) {
      let n: Node | undefined;
      for (const m of pending) if (!n || index.get(m)! < index.get(n)!) n = m;
      pending.delete(n!);
      const node = n!;
      const out = node.outputs.length === 1 ? g.types.get(node.outputs[0]) : undefined;
      if (
        plain(node) && ELEMENTWISE.has(node.op) && out && sameDims(out.shape, rShape) &&
        node.inputs.every((v) => values.has(v) || (v !== "" && scalar(v)))
      ) {
        nodes.push(node);
        values.add(node.outputs[0]);
        for (const m of uses.readers(node.outputs[0])) pending.add(m);
        continue;
      }
      if (
        plain(node)?.op !== "Reshape" || !values.has(node.inputs[0]) ||
        values.has(node.inputs[1])
      ) {
        return undefined;
      }
      const t = g.types.get(node.outputs[0]);
      if (t && sameDims(t.shape, aShape)) {
        // One whose output is a graph output keeps its name: it stays, a Reshape to the shape
        // of what it now reads (a 0 copies that very dim).
        const named = uses.isGraphOutput(node.outputs[0]) || uses.isCaptured(node.outputs[0]);
        (named ? kept : undo).push(node);
      } else {
        const s = consts.get(node.inputs[1]);
        if (!s || toNumbers(s).some((d) => d === 0)) return undefined;
        kept.push(node);
      }
    }
    for (const v of values) if (uses.isGraphOutput(v) || uses.isCaptured(v)) return undefined;
    return { nodes, undo, kept };
  }
  if (fired) g.nodes = g.nodes.filter((n) => !removed.has(n));
  return fired > 0;
});
