/**
 * The IR graph as Graphviz DOT text, for `dlm graph --format dot` (pipe it to
 * `dot -Tsvg` where Graphviz is installed). One box per node, ellipses for the
 * graph's inputs and outputs, edges labelled with the type of the value they
 * carry. Vertex ids are positional (`i0`, `n12`, `o0`) so that no user name
 * ever needs to be a DOT identifier; names only appear inside quoted strings.
 */
import type { Graph } from "../ir/graph.ts";
import { buildDiagram, type DiagramVertex } from "./diagram.ts";
import { FAMILY_STYLES } from "./op_family.ts";

export interface DotOptions {
  /** Graph label shown at the top (default: the graph's name). */
  title?: string;
}

/**
 * Render a graph as DOT. The output is deterministic (same graph, same bytes)
 * and every string is escaped, so any node name is safe.
 *
 * @example
 * ```ts
 * const dot = graphToDot(graph, { title: "resnet18" });
 * await writeFileAtomic("resnet18.dot", dot);
 * ```
 */
export function graphToDot(g: Graph, opts: DotOptions = {}): string {
  const d = buildDiagram(g);
  const out: string[] = [];
  out.push(`digraph ${dotString(g.name)} {`);
  out.push(
    `  graph [rankdir=TB, label=${
      dotString(opts.title ?? g.name)
    }, labelloc=t, fontname="monospace", fontsize=14, nodesep=0.3, ranksep=0.4];`,
  );
  out.push(`  node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10];`);
  out.push(`  edge [fontname="monospace", fontsize=9, color="#555555", fontcolor="#444444"];`);
  for (const v of d.vertices) out.push(`  ${v.id} [${vertexAttrs(v)}];`);
  for (const e of d.edges) {
    out.push(
      `  ${e.from} -> ${e.to} [label=${dotString(e.label)}, tooltip=${dotString(e.value)}];`,
    );
  }
  out.push("}");
  return out.join("\n") + "\n";
}

function vertexAttrs(v: DiagramVertex): string {
  const lines = [v.title, v.subtitle, ...v.details];
  if (v.location) lines.push(v.location);
  const attrs: string[] = [`label=${dotString(lines.join("\n"))}`];
  if (v.family === "io") {
    attrs.push(`shape=ellipse`, `style=${v.kind === "input" ? "solid" : "bold"}`);
  } else {
    const s = FAMILY_STYLES[v.family];
    attrs.push(`fillcolor=${dotString(s.fill)}`, `color=${dotString(s.stroke)}`);
  }
  attrs.push(`tooltip=${dotString(v.tooltip)}`);
  return attrs.join(", ");
}

/**
 * A DOT double-quoted string. Backslashes are doubled first so that user text
 * never forms a DOT escape such as `\N` or `\l`; newlines become `\n` (centred
 * line breaks), and other control characters are dropped.
 */
export function dotString(s: string): string {
  const body = s
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\r\n|\r|\n/g, "\\n")
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, "");
  return `"${body}"`;
}
