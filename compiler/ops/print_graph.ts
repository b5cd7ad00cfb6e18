/**
 * The IR printer: `printGraphWith` of `compiler/ir/print.ts` with each
 * attribute printed as its op's table entry types it (an int `1` and a
 * float `1.0` print differently), which is why it lives above the table.
 */
import type { Graph, Node } from "../ir/graph.ts";
import { type NodeDecor, printGraphWith, spanDecor } from "../ir/print.ts";
import { getOp } from "./table.ts";

/**
 * The IR graph as text. Deterministic: the same graph always prints the
 * same bytes (attributes sorted by name, initializers and nodes in graph
 * order, floats in their shortest round-tripping form).
 *
 * @example
 * ```ts
 * const { graph } = compileFile("lang-examples/lenet5.dlm");
 * console.log(printGraph(graph!));
 * // graph LeNet5  # 12 nodes, 10 initializers (61706 elements)
 * //   input %image: f32[N, 1, 32, 32]  # lang-examples/lenet5.dlm:3:3
 * //   ...
 * //   %conv2d = Conv[dilations=[1, 1], group=1, ...](%image, %conv2d.weight, %conv2d.bias)  : f32[N, 6, 28, 28]  # ...
 * ```
 */
export function printGraph(g: Graph): string {
  return printGraphWith(g, { decorate: irDecor });
}

/** Attribute types from the op table, and the comment of `spanDecor`. */
function irDecor(n: Node): NodeDecor {
  const def = getOp(n.op, n.domain ?? "");
  return { ...spanDecor(n), attrType: (name) => def?.attrs[name]?.type };
}
