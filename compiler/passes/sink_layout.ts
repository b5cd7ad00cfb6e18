/**
 * sink_layout: an elementwise binary op of two operands that the same
 * Transpose or Reshape made runs on their inputs, and that one node follows it.
 */
import type { Node } from "../ir/graph.ts";
import { type Tensor, toNumbers } from "../ir/tensor.ts";
import { definePass, noteRewrite } from "./context.ts";
import {
  constantTable,
  freshName,
  plain,
  producerOnlyFor,
  sameType,
  takenNames,
  Uses,
} from "./match.ts";

/** Binary ops that combine their operands element by element (same shapes: no broadcast). */
const ELEMENTWISE = new Set(["Add", "Sub", "Mul", "Div"]);

/**
 * A Transpose by a permutation p moves elements and changes none, and so does a
 * Reshape, which keeps their row-major order; an elementwise op pairs the elements at
 * the same index. With a and b of one type (so that nothing broadcasts),
 *
 *   Transpose(a, p) + Transpose(b, p) = Transpose(a + b, p)
 *   Reshape(a, s) + Reshape(b, s)     = Reshape(a + b, s)
 *
 * and the same for -, * and /: the same pairs of elements meet, so the results are
 * the same bits. One layout node instead of two, and one copy fewer. A training
 * step has this where a residual block's gradient sums its two branches: with both
 * branches' convolutions on the batch's columns (passes/conv_columns.ts), each input
 * gradient comes back as a Reshape of [C, i, N] to [C, h, w, N] and a Transpose to
 * [N, C, h, w] (ResNet-18's first block of layers 2 to 4 at 32x32: 2 nodes fewer each,
 * the Reshape sinking in the round after the Transpose).
 *
 * Conditions: the op is plain with two distinct inputs, each the only use of a plain
 * Transpose (the same perm) or Reshape (equal constant shapes, no `allowzero`), whose
 * inputs have the same type. The op takes the layout node's place in the order and
 * the layout node follows it, writing the op's old output; the other layout node goes.
 */
export const sinkLayout = definePass({ id: "sink_layout", modes: ["train"] }, (g, ctx) => {
  const consts = constantTable(g, ctx);
  const uses = new Uses(g);
  const taken = takenNames(g);
  let fired = 0;
  for (const n of [...g.nodes]) {
    if (!plain(n) || !ELEMENTWISE.has(n.op) || n.inputs.length !== 2) continue;
    const [a, b] = n.inputs;
    if (!a || !b || a === b) continue;
    const pa = producerOnlyFor(uses, a, n), pb = producerOnlyFor(uses, b, n);
    if (!pa || !pb || pa.op !== pb.op || !sameLayout(pa, pb, consts)) continue;
    const ta = g.types.get(pa.inputs[0]), tb = g.types.get(pb.inputs[0]);
    if (!sameType(ta, tb) || !sameType(g.types.get(a), g.types.get(b))) continue;
    noteRewrite(ctx, [n, pa, pb]);
    const out = n.outputs[0];
    const inner = freshName(g, `${n.name}/${pa.op.toLowerCase()}_input`, taken);
    uses.drop(n);
    uses.drop(pa);
    uses.drop(pb);
    n.inputs = [pa.inputs[0], pb.inputs[0]];
    n.outputs = [inner];
    g.types.set(inner, { dtype: g.types.get(out)!.dtype, shape: [...ta!.shape] });
    pa.inputs = [inner, ...pa.inputs.slice(1)];
    pa.outputs = [out];
    g.types.delete(a);
    g.types.delete(b);
    // The op runs where the earlier layout node ran, the layout node right after it.
    g.nodes.splice(g.nodes.indexOf(pa), 1);
    g.nodes.splice(g.nodes.indexOf(pb), 1);
    const at = Math.max(...n.inputs.map((i) => producerIndex(g.nodes, i)));
    g.nodes.splice(g.nodes.indexOf(n), 1);
    g.nodes.splice(at + 1, 0, n, pa);
    uses.add(n);
    uses.add(pa);
    fired++;
  }
  return fired > 0;
});

function sameLayout(pa: Node, pb: Node, consts: Map<string, Tensor>): boolean {
  if (pa.op === "Transpose") {
    const p = pa.attrs.perm as number[] | undefined, q = pb.attrs.perm as number[] | undefined;
    return !!p && !!q && p.length === q.length && p.every((d, i) => d === q[i]);
  }
  if (pa.op !== "Reshape" || pa.inputs.length < 2 || pb.inputs.length < 2) return false;
  if (pa.attrs.allowzero === 1 || pb.attrs.allowzero === 1) return false;
  if (pa.inputs[1] === pb.inputs[1]) return true;
  const s = consts.get(pa.inputs[1]), t = consts.get(pb.inputs[1]);
  if (!s || !t) return false;
  const x = toNumbers(s), y = toNumbers(t);
  return x.length === y.length && x.every((d, i) => d === y[i]);
}

/** Where the value is written in the node order (-1 for graph inputs and initializers). */
function producerIndex(nodes: Node[], value: string): number {
  return nodes.findIndex((m) => m.outputs.includes(value));
}
