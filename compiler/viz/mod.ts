/**
 * Drawing the IR graph for `dlm graph FILE.dlm [--format dot|svg]`: Graphviz
 * DOT text, or a standalone SVG laid out here (no Graphviz needed).
 *
 * @example
 * ```ts
 * import { graphToDot, graphToSvg } from "./compiler/viz/mod.ts";
 * await writeFileAtomic("model.svg", graphToSvg(graph, { title: "model.dlm" }));
 * await writeFileAtomic("model.dot", graphToDot(graph));
 * ```
 */
export { type DotOptions, graphToDot } from "./dot.ts";
export { type GraphLayout, graphToSvg, layoutGraph, type SvgOptions } from "./svg.ts";
export {
  buildDiagram,
  type Diagram,
  type DiagramEdge,
  type DiagramOptions,
  type DiagramVertex,
} from "./diagram.ts";
export {
  type Layout,
  type LayoutEdge,
  layoutLayered,
  type LayoutNode,
  type LayoutOptions,
  type PlacedEdge,
  type PlacedNode,
} from "./layout.ts";
export { FAMILY_STYLES, type OpFamily, opFamily } from "./op_family.ts";
