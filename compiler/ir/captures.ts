/**
 * The values a node's subgraphs (If/Loop/Scan bodies) read from the scopes
 * around them: the verifier checks they are defined first, and the passes
 * keep them alive and rename them with the rest.
 */
import type { AttrValue, Graph, Node } from "./graph.ts";

/**
 * Outer-scope values a node's subgraph attributes (If/Loop/Scan bodies) read:
 * names their nodes use that the subgraph itself does not define.
 */
export function capturedNames(n: Node): Set<string> {
  const out = new Set<string>();
  for (const v of Object.values(n.attrs)) {
    if (isGraph(v)) { for (const c of graphCaptures(v)) out.add(c); }
  }
  return out;
}

function isGraph(v: AttrValue): v is Graph {
  return typeof v === "object" && v !== null && !Array.isArray(v) && "nodes" in v &&
    "initializers" in v;
}

function graphCaptures(sub: Graph): Set<string> {
  const local = new Set<string>([...sub.inputs.map((v) => v.name), ...sub.initializers.keys()]);
  const out = new Set<string>();
  for (const n of sub.nodes) {
    for (const i of n.inputs) if (i && !local.has(i)) out.add(i);
    for (const c of capturedNames(n)) if (!local.has(c)) out.add(c);
    for (const o of n.outputs) if (o) local.add(o);
  }
  for (const v of sub.outputs) if (!local.has(v.name)) out.add(v.name);
  return out;
}
