/**
 * MatMul (opset 13), numpy semantics: the last two dims multiply as
 * matrices (..., M, K) x (..., K, N) -> (..., M, N), the leading batch dims
 * broadcast, and a 1-D operand is promoted to a matrix and the added dim
 * removed from the result.
 */
import { formatType } from "../ir/graph.ts";
import type { DType } from "../ir/tensor.ts";
import { type OpDef, ShapeError } from "./registry.ts";
import { broadcastShapes } from "./dims.ts";
import { expectDtype, FLOAT, input, sameDtype } from "./rules.ts";
import type { GradContext } from "./registry.ts";
import { ints, op1 } from "./grad_util.ts";

const MATMUL_TYPES: readonly DType[] = [...FLOAT, "u32", "u64", "i32", "i64"];

export const matMulOp: OpDef = {
  op: "MatMul",
  grad: matMulGrad,
  since: 13,
  inputs: [{ name: "A" }, { name: "B" }],
  outputs: [{ name: "Y" }],
  attrs: {},
  infer(ctx) {
    const a = input(ctx, "MatMul", 0, "A");
    const b = input(ctx, "MatMul", 1, "B");
    expectDtype("MatMul", "A", a, MATMUL_TYPES);
    const dtype = sameDtype("MatMul", [["A", a], ["B", b]]);
    if (a.shape.length === 0 || b.shape.length === 0) {
      throw new ShapeError(
        `MatMul expects tensors of rank 1 or more, found ${formatType(a)} and ${formatType(b)}`,
      );
    }
    const sa = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
    const sb = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
    const k1 = sa[sa.length - 1], k2 = sb[sb.length - 2];
    if (typeof k1 === "number" && typeof k2 === "number" && k1 !== k2) {
      throw new ShapeError(
        `MatMul cannot multiply ${formatType(a)} by ${
          formatType(b)
        }: inner dims ${k1} and ${k2} differ`,
      );
    }
    const batch = broadcastShapes(sa.slice(0, -2), sb.slice(0, -2), [
      formatType(a),
      formatType(b),
    ]);
    const shape = [...batch];
    if (a.shape.length > 1) shape.push(sa[sa.length - 2]);
    if (b.shape.length > 1) shape.push(sb[sb.length - 1]);
    return [{ dtype, shape }];
  },
};

/**
 * C = A B: dA = g B^T, dB = A^T g, batched, then summed over the batch axes
 * an operand was broadcast along. A 1-D operand is treated as a matrix with
 * a unit axis (as MatMul does) and the axis is removed again.
 */
function matMulGrad(c: GradContext) {
  let [a, b] = c.node.inputs;
  let g = c.outputGrads[0];
  const ra = c.inputTypes[0]!.shape.length;
  const rb = c.inputTypes[1]!.shape.length;
  if (rb === 1) {
    b = op1(c, "Unsqueeze", [b, ints(c, [1])]);
    g = op1(c, "Unsqueeze", [g, ints(c, [-1])]);
  }
  if (ra === 1) {
    a = op1(c, "Unsqueeze", [a, ints(c, [0])]);
    g = op1(c, "Unsqueeze", [g, ints(c, [-2])]);
  }
  const t = (v: string) => {
    const r = c.typeOf(v).shape.length;
    const perm = Array.from({ length: r }, (_, i) => i);
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return op1(c, "Transpose", [v], { perm });
  };
  let dA = c.unbroadcast(op1(c, "MatMul", [g, t(b)]), c.typeOf(a));
  let dB = rb === 2 && ra >= 3 ? sharedWeightGrad(c, a, g) : undefined;
  dB ??= c.unbroadcast(op1(c, "MatMul", [t(a), g]), c.typeOf(b));
  if (ra === 1) dA = op1(c, "Squeeze", [dA, ints(c, [0])]);
  if (rb === 1) dB = op1(c, "Squeeze", [dB, ints(c, [1])]);
  return [dA, dB];
}

/**
 * dB for x [..., K] @ W [K, M] (a weight shared by every leading index):
 * one Gemm over the flattened rows, x2^T g2 with x2 = [rows, K] and g2 =
 * [rows, M], instead of a batched MatMul per leading index and a sum over
 * them. Undefined when K or M is not static.
 */
function sharedWeightGrad(c: GradContext, a: string, g: string): string | undefined {
  const k = c.typeOf(a).shape.at(-1), m = c.typeOf(g).shape.at(-1);
  if (typeof k !== "number" || typeof m !== "number") return undefined;
  const a2 = op1(c, "Reshape", [a, ints(c, [-1, k])]);
  const g2 = op1(c, "Reshape", [g, ints(c, [-1, m])]);
  return op1(c, "Gemm", [a2, g2], { transA: 1 });
}
