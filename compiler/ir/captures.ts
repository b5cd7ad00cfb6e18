/**
 * The values a node's subgraphs (If/Loop/Scan bodies) read from the scopes
 * around them: the verifier checks they are defined first, and the passes
 * keep them alive and rename them with the rest.
 */
import { type AttrValue, type Graph, isGraph, type Node } from "./graph.ts";

/**
 * Outer-scope values a node's subgraph attributes (If/Loop/Scan bodies) read:
 * names their nodes use that the subgraph itself does not define.
 */
export function capturedNames(n: Node): ReadonlySet<string> {
  // Most nodes have no subgraph: no set is made for them (the passes ask of every node).
  let out: Set<string> | undefined;
  for (const k in n.attrs) {
    const v = n.attrs[k];
    if (isGraph(v)) {
      out ??= new Set<string>();
      for (const c of graphCaptures(v)) out.add(c);
    }
  }
  return out ?? NONE;
}

const NONE: ReadonlySet<string> = new Set<string>();

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

/**
 * Make `n`'s subgraphs (nested ones too) read `to` wherever they read the outer value `from`
 * (a pass replaced it). Names are unique across scopes, so a read of `from` that no subgraph
 * defines is always the capture. The subgraphs are copied, never mutated in place.
 */
export function renameCaptured(n: Node, from: string, to: string): void {
  const sub = (g: Graph): Graph => ({
    ...g,
    nodes: g.nodes.map((m) => {
      const r = { ...m, inputs: m.inputs.map((i) => (i === from ? to : i)) };
      renameCaptured(r, from, to);
      return r;
    }),
    outputs: g.outputs.map((o) => (o.name === from ? { ...o, name: to } : o)),
  });
  let attrs: Record<string, AttrValue> | undefined;
  for (const [k, v] of Object.entries(n.attrs)) {
    if (!isGraph(v) || !graphCaptures(v).has(from)) continue;
    attrs ??= { ...n.attrs };
    attrs[k] = sub(v);
  }
  if (attrs) n.attrs = attrs;
}
