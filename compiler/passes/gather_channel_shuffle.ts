/**
 * gather_channel_shuffle: a channel shuffle written as views and a permute
 * (ShuffleNet's) is one Gather of the channels by a constant permutation.
 */
import type { Graph, Node } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { dimEquals } from "../ops/dims.ts";
import { definePass, noteRewrite } from "./context.ts";
import { freshName, plain, Uses } from "./match.ts";

/**
 * With x of shape [N, C, S...] (C and S static) viewed as [N, g, C/g, S...], its axes 1 and 2
 * swapped and viewed back as [N, C, S...], output channel j = b g + a holds input channel
 * a (C/g) + b (a < g, b < C/g):
 *
 *   y = Reshape(Transpose[0, 2, 1, 3..](Reshape(x, [N, g, C/g, S...])), [N, C, S...])
 *     = Gather(x, p, axis 1),  p[j] = (j mod g) (C/g) + floor(j / g)
 *
 * exactly (a copy of the same elements). One node for three, and the gradient one Gather by the
 * inverse permutation (compiler/ops/gather.ts) for three more: ShuffleNetV2's 16 shuffles are 64
 * nodes fewer in a step.
 *
 * Runs in train mode only, before the gradients are built (`beforeGradientsPipeline`), like
 * depthwise_scale: a training step's own rewrite.
 *
 * Conditions: the Reshapes' and the Transpose's outputs read only by the next node of the chain,
 * the types as above (the first dim of all three the same, any; C = g (C/g) with g, C/g > 1), the
 * Transpose's perm [0, 2, 1, 3, ..]. The Gather takes the last Reshape's name and output.
 */
export const gatherChannelShuffle = definePass(
  { id: "gather_channel_shuffle", modes: ["train"] },
  (g, ctx) => {
    const uses = new Uses(g);
    const drop = new Set<Node>();
    let fired = 0;
    for (const n of g.nodes) {
      const m = match(g, uses, n);
      if (!m) continue;
      noteRewrite(ctx, [{ ...m.view }, { ...m.permute }, { ...n }]);
      const idx = freshName(g, `${n.name}/permutation`);
      g.initializers.set(idx, tensor("i64", [m.perm.length], m.perm));
      g.types.set(idx, { dtype: "i64", shape: [m.perm.length] });
      n.op = "Gather";
      n.inputs = [m.x, idx];
      n.attrs = { axis: 1 };
      n.spans = [...(m.view.spans ?? []), ...(m.permute.spans ?? []), ...(n.spans ?? [])];
      drop.add(m.view).add(m.permute);
      for (const o of [...m.view.outputs, ...m.permute.outputs]) g.types.delete(o);
      fired++;
    }
    if (fired) g.nodes = g.nodes.filter((n) => !drop.has(n));
    return fired > 0;
  },
);

function match(
  g: Graph,
  uses: Uses,
  back: Node,
): { x: string; view: Node; permute: Node; perm: number[] } | undefined {
  if (plain(back)?.op !== "Reshape") return;
  const permute = plain(uses.producer(back.inputs[0]));
  if (permute?.op !== "Transpose" || uses.readerCount(permute.outputs[0]) !== 1) return;
  const view = plain(uses.producer(permute.inputs[0]));
  if (view?.op !== "Reshape" || uses.readerCount(view.outputs[0]) !== 1) return;
  if (uses.isGraphOutput(view.outputs[0]) || uses.isGraphOutput(permute.outputs[0])) return;
  const x = view.inputs[0];
  const xs = g.types.get(x)?.shape, vs = g.types.get(view.outputs[0])?.shape;
  const ys = g.types.get(back.outputs[0])?.shape;
  if (!xs || !vs || !ys || xs.length < 2 || vs.length !== xs.length + 1) return;
  const [c, groups, per] = [xs[1], vs[1], vs[2]];
  if (typeof c !== "number" || typeof groups !== "number" || typeof per !== "number") return;
  if (groups < 2 || per < 2 || groups * per !== c) return;
  const rest = xs.slice(2);
  if (rest.some((d) => typeof d !== "number")) return;
  const same = (a: readonly (number | string)[], b: readonly (number | string)[]) =>
    a.length === b.length && a.every((d, i) => dimEquals(d, b[i]));
  if (!dimEquals(xs[0], vs[0]) || !same(vs.slice(3), rest) || !same(ys, xs)) return;
  const want = [0, 2, 1, ...rest.map((_, i) => i + 3)];
  const perm = permute.attrs.perm as number[] | undefined;
  if (!perm || perm.length !== want.length || perm.some((p, i) => p !== want[i])) return;
  return {
    x,
    view,
    permute,
    perm: Array.from({ length: c }, (_, j) => (j % groups) * per + Math.floor(j / groups)),
  };
}
