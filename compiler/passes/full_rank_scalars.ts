/**
 * full_rank_scalars: give the one-element operand of a broadcasting
 * elementwise op the rank of its result, where the result's last dim is 1.
 */
import type { Node } from "../ir/graph.ts";
import { numel, tensor } from "../ir/tensor.ts";
import { definePass, noteRewrite } from "./context.ts";
import { constantTable, freshName, isStatic, plain, takenNames } from "./match.ts";

/**
 * The ops whose operands broadcast (ONNX's multidirectional broadcasting) and
 * that onnxruntime's CPU kernels run through one broadcasting loop.
 */
export const BROADCASTING_OPS: ReadonlySet<string> = new Set([
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Pow",
  "Max",
  "Min",
  "Equal",
  "Greater",
  "GreaterOrEqual",
  "Less",
  "LessOrEqual",
  "Where",
]);

/**
 * Broadcasting a one-element operand s over a tensor x of shape [d1, ..., dR]
 * reads s for every element whatever s's rank r <= R, so with s' the same
 * element reshaped to [1, ..., 1] (R ones)
 *
 *   op(x, s) = op(x, s')   elementwise, bit for bit (the same one operation per element).
 *
 * The rewrite is for onnxruntime (1.30, CPU): when s has a lower rank than x
 * and x's last dim is 1, its broadcasting loop runs over spans of one element,
 * ~2.8 ns per element against ~0.1 ns with s at full rank (a Mul of a scalar
 * and a [2048, 1024, 1, 1] weight: 5.7-6.9 ms against 0.11-0.25 ms; the same
 * for Sub, Add, Div, and for scalars of shape [], [1] and [1, 1]; [1, 1, 1]
 * and [1, 1, 1, 1] are fast; a [2048, 1024] or [512, 512, 3, 3] x is fast
 * with any s). A training step meets it in every SGD update of a 1x1
 * convolution's weight (w' = w - lr v', lr a scalar) and in the gradients
 * of layers whose maps are 1x1: ResNeXt-50's step at 32x32 spent 60 of its
 * 145 ms in such Muls.
 *
 * Conditions: a plain node of BROADCASTING_OPS whose output type has a known
 * rank R >= 1 and a last dim of 1; an operand of static shape with one
 * element and rank below R. A constant operand becomes a new initializer of
 * R ones' shape (one per constant and rank); any other a Reshape to that
 * shape (one per value and rank), placed before its first reader.
 */
export const fullRankScalars = definePass({ id: "full_rank_scalars" }, (g, ctx) => {
  const consts = constantTable(g, ctx);
  const taken = takenNames(g);
  const lifted = new Map<string, string>();
  const onesShapes = new Map<number, string>();
  const out: Node[] = [];
  let changed = false;
  for (const n of g.nodes) {
    const ot = g.types.get(n.outputs[0]);
    const rank = ot?.shape.length ?? 0;
    if (!plain(n) || !BROADCASTING_OPS.has(n.op) || !ot || rank < 1 || ot.shape[rank - 1] !== 1) {
      out.push(n);
      continue;
    }
    const was = { ...n };
    n.inputs = n.inputs.map((v) => {
      const t = g.types.get(v);
      if (!v || !isStatic(t) || t.shape.length >= rank || numel(t.shape) !== 1) return v;
      const key = `${v}\u0000${rank}`;
      const known = lifted.get(key);
      if (known) return known;
      const ones = Array.from({ length: rank }, () => 1);
      const name = freshName(g, `${v}/rank${rank}`, taken);
      const c = consts.get(v);
      if (c) {
        g.initializers.set(name, { dtype: c.dtype, shape: ones, data: c.data.slice(0, 1) });
      } else {
        let shape = onesShapes.get(rank);
        if (!shape) {
          shape = freshName(g, `ones_shape_${rank}`, taken);
          g.initializers.set(shape, tensor("i64", [rank], ones));
          g.types.set(shape, { dtype: "i64", shape: [rank] });
          onesShapes.set(rank, shape);
        }
        out.push({
          op: "Reshape",
          name: freshName(g, `${v}/rank${rank}/reshape`, taken),
          inputs: [v, shape],
          outputs: [name],
          attrs: {},
          ...(n.spans ? { spans: n.spans } : {}),
        });
      }
      g.types.set(name, { dtype: t.dtype, shape: ones });
      lifted.set(key, name);
      changed = true;
      return name;
    });
    if (n.inputs.some((v, k) => v !== was.inputs[k])) noteRewrite(ctx, [was]);
    out.push(n);
  }
  g.nodes = out;
  return changed;
});
