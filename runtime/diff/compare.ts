/**
 * Numeric comparison of two tensors the way numpy.allclose does it:
 * |a - b| <= atol + rtol * |b| elementwise, NaN equal to NaN.
 */
import type { Tensor } from "../../compiler/ir/tensor.ts";
import { getNumber } from "../../compiler/ir/tensor.ts";

export interface Comparison {
  ok: boolean;
  maxAbs: number;
  maxRel: number;
  /** Elements outside tolerance. */
  bad: number;
  /** Shape or dtype mismatch, when there is one. */
  problem?: string;
}

export function compareTensors(
  actual: Tensor,
  expected: Tensor,
  rtol: number,
  atol: number,
): Comparison {
  if (
    actual.shape.length !== expected.shape.length ||
    actual.shape.some((d, i) => d !== expected.shape[i])
  ) {
    return {
      ok: false,
      maxAbs: Infinity,
      maxRel: Infinity,
      bad: -1,
      problem: `shapes differ: [${actual.shape}] vs [${expected.shape}]`,
    };
  }
  if (actual.dtype === "str" || expected.dtype === "str") {
    const eq = (actual.data as string[]).every((s, i) => s === (expected.data as string[])[i]);
    return { ok: eq, maxAbs: eq ? 0 : Infinity, maxRel: eq ? 0 : Infinity, bad: eq ? 0 : 1 };
  }
  let maxAbs = 0, maxRel = 0, bad = 0;
  const n = actual.data.length;
  for (let i = 0; i < n; i++) {
    const a = getNumber(actual, i), b = getNumber(expected, i);
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    if (a === b) continue;
    const d = Math.abs(a - b);
    if (Number.isNaN(d)) {
      bad++;
      maxAbs = Infinity;
      continue;
    }
    const rel = d / Math.max(Math.abs(b), 1e-30);
    if (d > maxAbs) maxAbs = d;
    if (rel > maxRel && Math.abs(b) > atol) maxRel = rel;
    if (d > atol + rtol * Math.abs(b)) bad++;
  }
  return { ok: bad === 0, maxAbs, maxRel, bad };
}
