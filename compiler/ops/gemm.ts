/**
 * Gemm (opset 13): Y = alpha * A' * B' + beta * C, where A' is A (M, K) or
 * its transpose, B' is B (K, N) or its transpose, and C broadcasts
 * (unidirectionally) to (M, N).
 */
import { formatType } from "../ir/graph.ts";
import type { DType } from "../ir/tensor.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { broadcastShapes, dimEquals, formatShape } from "./dims.ts";
import { expectDtype, expectRank, FLOAT, input, intAttr, sameDtype } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { gradOf } from "./grad_util.ts";
import { diag } from "../diagnostics.ts";

const GEMM_TYPES: readonly DType[] = [...FLOAT, "u32", "u64", "i32", "i64"];

export const gemmOp: OpDef = {
  op: "Gemm",
  grad: gemmGrad,
  since: 13,
  inputs: [{ name: "A" }, { name: "B" }, { name: "C", optional: true }],
  outputs: [{ name: "Y" }],
  attrs: {
    alpha: { type: "float", default: 1.0 },
    beta: { type: "float", default: 1.0 },
    transA: { type: "int", default: 0 },
    transB: { type: "int", default: 0 },
  },
  infer(ctx) {
    const a = input(ctx, "Gemm", 0, "A");
    const b = input(ctx, "Gemm", 1, "B");
    const c = ctx.inputs[2];
    expectDtype("Gemm", "A", a, GEMM_TYPES);
    const dtype = sameDtype("Gemm", [["A", a], ["B", b], ["C", c]]);
    expectRank("Gemm", "A", a, 2);
    expectRank("Gemm", "B", b, 2);
    const transA = intAttr(ctx.attrs, "transA") !== 0;
    const transB = intAttr(ctx.attrs, "transB") !== 0;
    const [m, ka] = transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
    const [kb, n] = transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
    if (typeof ka === "number" && typeof kb === "number" && ka !== kb) {
      throw new ShapeError(
        ...diag(
          "DLM0229",
          "Gemm",
          `${formatType(a)}${transA ? " (transposed)" : ""}`,
          `${formatType(b)}${transB ? " (transposed)" : ""}`,
          ka,
          kb,
        ),
      );
    }
    if (c) {
      const target = [m, n];
      const out = broadcastShapes(c.shape, target, [
        formatType(c),
        `the output ${formatShape(target)}`,
      ]);
      if (
        out.length !== 2 ||
        !out.every((d, i) => dimEquals(d, target[i]) || typeof target[i] !== "number")
      ) {
        throw new ShapeError(
          ...diag(
            "DLM0227",
            "Gemm",
            `C to broadcast to the output ${formatShape(target)}`,
            formatType(c),
          ),
        );
      }
    }
    return [{ dtype, shape: [m, n] }];
  },
};

/**
 * Y = alpha A' B' + beta C with A' = transA ? A^T : A (same for B):
 * dA' = alpha g B'^T and dB' = alpha A'^T g, transposed back when the
 * operand was; dC = beta g summed over C's broadcast axes.
 */
function gemmGrad(c: GradContext) {
  const e = c.e;
  const [a, b, cc] = c.node.inputs;
  const g = c.outputGrads[0];
  const alpha = (c.node.attrs.alpha as number | undefined) ?? 1;
  const beta = (c.node.attrs.beta as number | undefined) ?? 1;
  const tA = c.node.attrs.transA === 1;
  const tB = c.node.attrs.transB === 1;
  const dA = tA
    ? e.op1("Gemm", [b, g], { alpha, transA: tB ? 1 : 0, transB: 1 })
    : e.op1("Gemm", [g, b], { alpha, transB: tB ? 0 : 1 });
  const dB = tB
    ? e.op1("Gemm", [g, a], { alpha, transA: 1, transB: tA ? 1 : 0 })
    : e.op1("Gemm", [a, g], { alpha, transA: tA ? 0 : 1 });
  let dC: string | undefined;
  if (cc) dC = c.unbroadcast(gradOf(c, 0).scale(beta).name, c.inputTypes[2]!);
  return [dA.name, dB.name, dC];
}
