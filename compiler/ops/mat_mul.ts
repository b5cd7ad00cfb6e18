/**
 * MatMul (opset 13), numpy semantics: the last two dims multiply as
 * matrices (..., M, K) x (..., K, N) -> (..., M, N), the leading batch dims
 * broadcast, and a 1-D operand is promoted to a matrix and the added dim
 * removed from the result.
 */
import { formatType } from "../ir/graph.ts";
import type { DType } from "../ir/tensor.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { broadcastShapes } from "./dims.ts";
import { expectDtype, FLOAT, input, sameDtype } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { gradOf, inputOf } from "./grad_util.ts";
import type { Expr } from "../ir/expr.ts";
import { diag } from "../diagnostics.ts";

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
        ...diag(
          "DLM0227",
          "MatMul",
          "tensors of rank 1 or more",
          `${formatType(a)} and ${formatType(b)}`,
        ),
      );
    }
    const sa = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
    const sb = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
    const k1 = sa[sa.length - 1], k2 = sb[sb.length - 2];
    if (typeof k1 === "number" && typeof k2 === "number" && k1 !== k2) {
      throw new ShapeError(...diag("DLM0229", "MatMul", formatType(a), formatType(b), k1, k2));
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
  const e = c.e;
  let a = inputOf(c, 0), b = inputOf(c, 1);
  let g = gradOf(c, 0);
  const ra = a.type.shape.length;
  const rb = b.type.shape.length;
  if (rb === 1) {
    b = b.unsqueeze([1]);
    g = g.unsqueeze([-1]);
  }
  if (ra === 1) {
    a = a.unsqueeze([0]);
    g = g.unsqueeze([-2]);
  }
  const t = (v: Expr) => {
    const r = v.type.shape.length;
    const perm = Array.from({ length: r }, (_, i) => i);
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return v.transpose(perm);
  };
  const unbroadcast = (v: Expr, to: Expr) => e.v(c.unbroadcast(v.name, to.type));
  let dA = unbroadcast(g.matmul(t(b)), a);
  let dB = rb === 2 && ra >= 3 ? sharedWeightGrad(a, g) : undefined;
  dB ??= unbroadcast(t(a).matmul(g), b);
  if (ra === 1) dA = dA.squeeze([0]);
  if (rb === 1) dB = dB.squeeze([1]);
  return [dA.name, dB.name];
}

/**
 * dB for x [..., K] @ W [K, M] (a weight shared by every leading index):
 * one Gemm over the flattened rows, x2^T g2 with x2 = [rows, K] and g2 =
 * [rows, M], instead of a batched MatMul per leading index and a sum over
 * them. Undefined when K or M is not static.
 */
function sharedWeightGrad(a: Expr, g: Expr): Expr | undefined {
  const k = a.type.shape.at(-1), m = g.type.shape.at(-1);
  if (typeof k !== "number" || typeof m !== "number") return undefined;
  return a.reshape([-1, k]).op("Gemm", [g.reshape([-1, m])], { transA: 1 });
}
