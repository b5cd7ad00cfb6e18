/**
 * Recomputing part of a step with other values: a later phase's loss with the parameters earlier
 * phases updated (compiler/train/compile.ts), an update of `minibatches(...)` over a slice of the
 * rollout with the parameters the updates before it made (compiler/train/minibatches.ts).
 */
import type { Node } from "../ir/graph.ts";
import type { GraphBuilder } from "../ops/builder.ts";

/**
 * Copy the nodes that compute `value` (its ancestors in `nodes`) under fresh
 * names, reading `subst`'s values in place of the parameters they replace.
 * Returns the copy of `value`.
 */
export function recompute(
  b: GraphBuilder,
  nodes: Node[],
  value: string,
  subst: Map<string, string>,
  prefix: string,
): string {
  const need = new Set([value]);
  const chosen: Node[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (!n.outputs.some((o) => need.has(o))) continue;
    // A substituted value computed by a node (a rollout's slice replaces it): its node and what
    // computes it are not copied.
    if (n.outputs.some((o) => subst.has(o))) continue;
    chosen.push(n);
    for (const x of n.inputs) if (x) need.add(x);
  }
  chosen.reverse();
  // Only nodes that read a substituted value (directly or not) need copying.
  const changed = new Set(subst.keys());
  const copies = new Map(subst);
  for (const n of chosen) {
    if (!n.inputs.some((x) => changed.has(x))) continue;
    const outs = b.addNode(n.op, n.inputs.map((x) => copies.get(x) ?? x), n.attrs, {
      name: prefix + n.name,
      nOutputs: n.outputs.length,
      domain: n.domain,
      spans: n.spans,
    });
    n.outputs.forEach((o, j) => {
      if (!o) return;
      changed.add(o);
      copies.set(o, outs[j]);
    });
  }
  return copies.get(value) ?? value;
}
