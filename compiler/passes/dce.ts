/**
 * dce: dead code elimination.
 */
import { type Node, tapWeights } from "../ir/graph.ts";
import { capturedNames } from "../ir/captures.ts";
import { definePass, noteRewrite } from "./context.ts";

/**
 * A value is live when a graph output is, or a live node reads it (as an
 * input or from a subgraph); a node is live when one of its outputs is.
 * Our op set has no side effects (random ops only draw numbers), so every
 * node that is not live is dropped, then:
 *
 * - initializers nothing live reads (with `ctx.keepParams`, initializers
 *   listed in `params` stay: a training graph keeps every parameter even if
 *   the loss does not reach it, so weight files round-trip);
 * - `params` entries whose initializer is gone (params metadata describes
 *   only initializers and graph inputs that exist, as the verifier checks);
 * - types of values that no longer exist.
 *
 * Graph inputs are the model's interface and always stay, used or not.
 */
export const dce = definePass({ id: "dce" }, (g, ctx) => {
  const live = new Set<string>(g.outputs.map((v) => v.name));
  const keep = new Set<Node>();
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k];
    if (!n.outputs.some((o) => o && live.has(o))) continue;
    keep.add(n);
    for (const i of n.inputs) if (i) live.add(i);
    for (const c of capturedNames(n)) live.add(c);
  }
  let changed = false;
  if (keep.size !== g.nodes.length) {
    for (const n of g.nodes) if (!keep.has(n)) noteRewrite(ctx, [n]);
    g.nodes = g.nodes.filter((n) => keep.has(n));
    changed = true;
  }

  const params = new Set(ctx.keepParams ? g.params.map((p) => p.name) : []);
  // A weight a step trains at some taps keeps its initial value for the others (train/pack.ts).
  for (const p of tapWeights(g.packs)) params.add(p);
  for (const k of [...g.initializers.keys()]) {
    if (live.has(k) || params.has(k)) continue;
    g.initializers.delete(k);
    changed = true;
  }
  const inputs = new Set(g.inputs.map((v) => v.name));
  const before = g.params.length;
  // A training step's packed parameters live in their packs (compiler/train/pack.ts).
  const packed = new Set(g.packs?.flatMap((p) => p.members.map((m) => m.param)));
  g.params = g.params.filter((p) =>
    g.initializers.has(p.name) || inputs.has(p.name) || packed.has(p.name)
  );
  if (g.params.length !== before) changed = true;

  const exists = new Set<string>([...inputs, ...g.initializers.keys()]);
  for (const n of g.nodes) for (const o of n.outputs) if (o) exists.add(o);
  for (const k of [...g.types.keys()]) {
    if (!exists.has(k)) {
      g.types.delete(k);
      changed = true;
    }
  }
  return changed;
});
