/** The graph view's vertices linked to the source they came from (a graph response's `links`). */
import type { Graph } from "../../compiler/ir/graph.ts";
import { buildDiagram } from "../../compiler/viz/diagram.ts";

/** A vertex of the graph view (in the SVG's drawing order) and the source spans it came from. */
export interface GraphLink {
  spans: { file: string; line: number; col: number; endLine: number; endCol: number }[];
}

/**
 * The source spans of each vertex of the graph view, in the order graphToSvg draws them
 * (compiler/viz/svg.ts draws `buildDiagram(g).vertices` in order, one `<g class="v …">` each):
 * graph inputs, nodes, outputs.
 */
export function graphLinks(g: Graph): GraphLink[] {
  const ids = buildDiagram(g).vertices.map((v) => v.id);
  return ids.map((id) => {
    const k = Number(id.slice(1));
    const spans = id[0] === "n"
      ? g.nodes[k].spans ?? []
      : [g.spans?.get((id[0] === "i" ? g.inputs : g.outputs)[k].name)].filter((s) => !!s);
    return { spans: spans.map((s) => ({ ...s! })) };
  });
}
