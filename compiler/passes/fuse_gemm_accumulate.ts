/**
 * fuse_gemm_accumulate: fold a scaled running sum that a Gemm's product is
 * added to into the Gemm itself, as its C operand.
 */
import type { Graph, Node } from "../ir/graph.ts";
import { numel, tensor } from "../ir/tensor.ts";
import type { DType, Tensor } from "../ir/tensor.ts";
import { definePass, mergeSpans, noteRewrite } from "./context.ts";
import { constantTable, freshName, isStatic, plain, scalar, takenNames, Uses } from "./match.ts";

/**
 * Gemm(A, B, C; alpha, beta) = alpha A' B' + beta C, so with s a constant
 * scalar and v of the product's element count:
 *
 *   Add(Mul(v, s), Gemm(A, B; alpha))            = Gemm(A, B, v; alpha, beta = s)
 *   Add(Mul(v, s), Reshape(Gemm(A, B; alpha)))   = Reshape(Gemm(A, B, Reshape(v); alpha, beta = s))
 *
 * (either operand order of the Add and the Mul). A training step's momentum
 * update is the case: SGD's v' = mu v + dW where a convolution's weight
 * gradient dW is one Gemm over im2col's columns (compiler/ops/conv.ts) or a
 * linear layer's Gemm, reshaped to the weight's shape. The Gemm then writes
 * v' in one pass over the weight instead of the product, then mu v, then
 * their sum (a Mul and an Add over every element of ResNet-18's largest
 * weights). MLAS adds beta C to the product in its own accumulation, so the
 * sum can differ from the separate ops' in the last bit.
 *
 * Conditions: the Gemm has no C; its output (and the Reshape's) feed only
 * the next node of the chain; its output type is static and f32 or f64; v
 * has the Add's static shape and dtype; s is a one-element constant of that
 * dtype, and f32 holds it exactly (beta is a float attribute). The Mul goes
 * with the Add unless other nodes read it.
 * The Gemm keeps its name; the Add's output is written by the last node of
 * the chain (readers are unchanged), and v's Reshape to the Gemm's shape is
 * a new node just before the Gemm.
 */
export const fuseGemmAccumulate = definePass({ id: "fuse_gemm_accumulate" }, (g, ctx) => {
  const consts = constantTable(g, ctx);
  const uses = new Uses(g);
  const removed = new Set<Node>();
  const before = new Map<Node, Node>();
  const taken = takenNames(g);
  for (const add of g.nodes) {
    if (add.op !== "Add" || !plain(add) || removed.has(add)) continue;
    const found = match(g, add, consts, uses);
    if (!found) continue;
    const { gemm, reshape, mul, v, s } = found;
    noteRewrite(ctx, [gemm, ...(reshape ? [reshape] : []), mul, add].map((n) => ({ ...n })));
    const out = add.outputs[0];
    const mulOnlyHere = uses.soleReader(mul.outputs[0]) === add;
    uses.drop(add);
    if (mulOnlyHere) {
      uses.drop(mul);
      g.types.delete(mul.outputs[0]);
      removed.add(mul);
    }
    removed.add(add);
    let c = v;
    if (reshape) {
      // v as the Gemm's [P, Q].
      const gt = g.types.get(gemm.outputs[0])!;
      const shape = freshName(g, `${gemm.name}/accumulate/shape`, taken);
      g.initializers.set(shape, tensor("i64", [2], gt.shape as number[]));
      g.types.set(shape, { dtype: "i64", shape: [2] });
      c = freshName(g, `${gemm.name}/accumulate`, taken);
      g.types.set(c, { dtype: gt.dtype, shape: [...gt.shape] });
      const r: Node = {
        op: "Reshape",
        name: freshName(g, `${gemm.name}/accumulate/reshape`, taken),
        inputs: [v, shape],
        outputs: [c],
        attrs: {},
      };
      before.set(gemm, r);
      uses.add(r);
    }
    uses.drop(gemm);
    gemm.inputs = [gemm.inputs[0], gemm.inputs[1], c];
    gemm.attrs = { ...gemm.attrs, beta: s };
    gemm.spans = mergeSpans(gemm, mul, add);
    uses.add(gemm);
    // The chain's last node writes the Add's output.
    const last = reshape ?? gemm;
    const old = last.outputs[0];
    uses.drop(last);
    last.outputs = [out];
    g.types.delete(old);
    uses.add(last);
  }
  if (removed.size === 0) return false;
  g.nodes = g.nodes.flatMap((n) => {
    if (removed.has(n)) return [];
    const r = before.get(n);
    return r ? [r, n] : [n];
  });
  return true;
});

const GEMM_TYPES: readonly DType[] = ["f32", "f64"];

function match(
  g: Graph,
  add: Node,
  consts: Map<string, Tensor>,
  uses: Uses,
): { gemm: Node; reshape?: Node; mul: Node; v: string; s: number } | undefined {
  const at = g.types.get(add.outputs[0]);
  if (add.inputs.length !== 2 || !isStatic(at) || !GEMM_TYPES.includes(at.dtype)) {
    return undefined;
  }
  for (const k of [0, 1]) {
    const [product, scaled] = [add.inputs[k], add.inputs[1 - k]];
    if (product === scaled || uses.soleReader(product) !== add) continue;
    let reshape: Node | undefined;
    let gemm = plain(uses.producer(product));
    if (gemm?.op === "Reshape") {
      reshape = gemm;
      const inner = reshape.inputs[0];
      gemm = uses.soleReader(inner) === reshape ? plain(uses.producer(inner)) : undefined;
    }
    if (!gemm || gemm.op !== "Gemm" || gemm.inputs.length !== 2) continue;
    const gt = g.types.get(gemm.outputs[0]);
    if (!isStatic(gt) || gt.dtype !== at.dtype) continue;
    if (numel(gt.shape as number[]) !== numel(at.shape as number[])) continue;
    if (!reshape && gt.shape.join() !== at.shape.join()) continue;
    const mul = plain(uses.producer(scaled));
    if (!mul || mul.op !== "Mul" || mul.inputs.length !== 2) continue;
    for (const j of [0, 1]) {
      const v = mul.inputs[j];
      const s = scalar(consts, mul.inputs[1 - j]);
      const vt = g.types.get(v);
      // beta is a float attribute: s must be an f32 value (an f64 one only if f32 holds it).
      if (s === undefined || consts.get(mul.inputs[1 - j])!.dtype !== at.dtype) continue;
      if (Math.fround(s) !== s) continue;
      if (!isStatic(vt) || vt.dtype !== at.dtype || vt.shape.join() !== at.shape.join()) continue;
      return { gemm, reshape, mul, v, s };
    }
  }
  return undefined;
}
