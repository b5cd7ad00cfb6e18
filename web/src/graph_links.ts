/** The graph view's vertices linked to the source they came from (editor_protocol.ts GraphLink). */
import type { Graph } from "../../compiler/ir/graph.ts";
import { buildDiagram } from "../../compiler/viz/diagram.ts";
import type { GraphLink } from "./editor_protocol.ts";

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
