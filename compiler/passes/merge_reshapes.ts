/**
 * merge_reshapes: a Reshape of a value that an earlier reshape made reads
 * the earlier one's input instead.
 */
import type { Node } from "../ir/graph.ts";
import { tensor, toNumbers } from "../ir/tensor.ts";
import { definePass, noteRewrite } from "./context.ts";
import { constantTable, freshName, plain, takenNames, Uses } from "./match.ts";

/**
 * Ops that only relabel the dims of their input 0: the elements keep their
 * row-major order.
 */
const RELABEL = new Set(["Reshape", "Flatten", "Squeeze", "Unsqueeze"]);

/**
 * A Reshape, Flatten, Squeeze or Unsqueeze keeps the row-major order of the
 * elements and changes only the dims, so for a constant shape s:
 *
 *   Reshape(R(x, ...), s) = Reshape(x, s)       R one of those four
 *
 * The outer Reshape then reads x, and R, when nothing else reads it, is
 * left for dce. A training step has such chains where one rule's result is
 * reshaped by the next (a convolution's weight gradient, made [Co, Ci, k, k]
 * by its rule, is flattened into its parameter pack's gradient).
 *
 * Conditions: the outer node is a plain Reshape whose shape is a constant;
 * the inner node is a plain one of the four ops. A 0 in the shape (without
 * `allowzero` = 1) copies a dim of the outer node's input, which the merge
 * would change: such a shape is replaced by the outer node's output dims
 * (a new constant) when at most one of them is symbolic, which becomes the
 * -1; otherwise the node stays. Only the outer node's inputs change: no
 * value is renamed or removed.
 */
export const mergeReshapes = definePass({ id: "merge_reshapes" }, (g, ctx) => {
  const consts = constantTable(g, ctx);
  const uses = new Uses(g);
  let fired = 0;
  const taken = takenNames(g);
  for (const n of g.nodes) {
    if (!plain(n) || n.op !== "Reshape" || n.inputs.length < 2) continue;
    const inner = plain(uses.producer(n.inputs[0])) as Node | undefined;
    if (!inner || !RELABEL.has(inner.op) || !inner.inputs[0]) continue;
    let shape = n.inputs[1];
    const s = consts.get(shape);
    if (!s) continue;
    if (n.attrs.allowzero !== 1 && toNumbers(s).some((d) => d === 0)) {
      // A 0 copies a dim of the inner node's output: write the output's dims instead, when at
      // most one of them is symbolic (it becomes the -1).
      const out = g.types.get(n.outputs[0])?.shape;
      if (!out || out.filter((d) => typeof d !== "number").length > 1) continue;
      shape = freshName(g, `${n.name}/shape`, taken);
      taken.add(shape);
      g.initializers.set(
        shape,
        tensor("i64", [out.length], out.map((d) => (typeof d === "number" ? d : -1))),
      );
      g.types.set(shape, { dtype: "i64", shape: [out.length] });
    }
    noteRewrite(ctx, [n]);
    n.inputs = [inner.inputs[0], shape];
    fired++;
  }
  return fired > 0;
});
