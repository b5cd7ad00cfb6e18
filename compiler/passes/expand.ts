/**
 * expand: the step the rewrites that replace one node by several share (conv_columns,
 * depthwise_matrix, sum_as_matmul): build an expression in the node's place, which then writes
 * the node's output.
 */
import type { Graph, Node } from "../ir/graph.ts";
import { type Expr, type ExprGraph, exprGraph } from "../ir/expr.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { noteRewrite, type PassContext } from "./context.ts";
import { constantPool } from "./share_batch_statistics.ts";

/**
 * Replace each of `nodes` (one output each) by the expression `build` returns, built on an
 * ExprGraph whose nodes are named `<node>/<tag>/<op>` and carry the node's spans, and whose
 * constants are initializers named `<node>.<constants>`, shared through one pool for the whole
 * call. The expression's last node writes the node's output (its name and its type, which is the
 * expression's), and the new nodes take the node's place in the graph's order. Each replaced node
 * is noted as a rewrite.
 */
export function expandInPlace(
  g: Graph,
  ctx: PassContext,
  nodes: readonly Node[],
  names: { tag: string; constants: string },
  build: (e: ExprGraph, node: Node) => Expr,
): void {
  const b = new GraphBuilder(g);
  const pool = constantPool(g);
  for (const node of nodes) {
    noteRewrite(ctx, [{ ...node }]);
    const at = g.nodes.length;
    const e = exprGraph({
      node: (op, inputs, attrs, o) =>
        b.addNode(op, inputs, attrs, {
          ...o,
          name: `${node.name}/${names.tag}/${op.toLowerCase()}`,
          spans: node.spans,
        }),
      constant: (t) => pool.get(t, (t) => b.initializer(`${node.name}.${names.constants}`, t)),
      typeOf: (name) => b.typeOf(name)!,
    });
    const y = build(e, node);
    const last = g.nodes.at(-1)!;
    if (g.nodes.length === at || last.outputs[0] !== y.name) {
      throw new Error(`internal: ${names.tag} of ${node.name} does not end in its result`);
    }
    const out = node.outputs[0];
    g.types.set(out, g.types.get(y.name)!);
    g.types.delete(y.name);
    last.outputs = [out];
    const added = g.nodes.splice(at);
    g.nodes.splice(g.nodes.indexOf(node), 1, ...added);
  }
}
