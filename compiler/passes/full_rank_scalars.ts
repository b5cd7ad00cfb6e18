/**
 * full_rank_scalars: give the one-element operand of a broadcasting
 * elementwise op the rank of its result, where the result has a dim of 1.
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
 * and x has a dim of 1, its broadcasting loop runs over spans of the dims
 * after the last such 1 only, so a tensor ending in 1 goes one element at a
 * time: ~2.8 ns per element against ~0.1 ns with s at full rank (a Mul of a
 * scalar and a [2048, 1024, 1, 1] weight: 5.7-6.9 ms against 0.11-0.25 ms;
 * the same for Sub, Add and Div, and for s of shape [], [1] or [1, 1]). Spans
 * of 2, 4, 8 or 16 elements ([2048, 512, 1, 2] ... [2048, 64, 1, 16]) took
 * 3.8, 3.3, 1.7 and 0.9 ms against 0.3-0.4 ms at full rank; a [512, 512, 3, 3]
 * or [2048, 1024] x is fast with any s. A training step meets it in every SGD
 * update of a 1x1 convolution's weight (w' = w - lr v, lr a scalar) and in
 * the gradients of layers whose maps are 1x1: ResNeXt-50's step at 32x32
 * spent 60 of its 145 ms in such Muls.
 *
 * Conditions: a plain node of BROADCASTING_OPS whose output type has a known
 * rank R >= 1 and a dim that is 1; an operand of static shape with one
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
    if (!plain(n) || !BROADCASTING_OPS.has(n.op) || !ot || !ot.shape.includes(1)) {
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
