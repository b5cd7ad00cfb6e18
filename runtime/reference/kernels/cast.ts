/**
 * Cast: convert to the element type `to`. Floats to integers truncate toward
 * zero; to bool is `x != 0`; strings parse as numbers and numbers print in
 * their shortest round-trip form (as numpy prints them).
 */
import type { Kernel } from "../kernel.ts";
import { attrDType, elems, fromValues, input } from "../util.ts";
import type { DType, Tensor } from "../../../compiler/ir/tensor.ts";

/** `x` converted to `to`. */
export function castTensor(x: Tensor, to: DType): Tensor {
  if (x.dtype === to) return x;
  if (to === "str") {
    const src = elems(x);
    const out = new Array<string>(src.length);
    for (let i = 0; i < src.length; i++) out[i] = formatNumber(src[i], x.dtype);
    return { dtype: "str", shape: [...x.shape], data: out };
  }
  if (x.dtype === "str") {
    const src = x.data as string[];
    const vals = src.map((s) => parseNumber(s, to));
    return fromValues(to, x.shape, vals);
  }
  return fromValues(to, x.shape, elems(x));
}

function formatNumber(v: number | bigint, from: DType): string {
  if (typeof v === "bigint") return v.toString();
  if (from === "bool") return v ? "True" : "False";
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "INF" : "-INF";
  if (from !== "f32" && from !== "f16" && from !== "bf16") return String(v);
  // Shortest decimal that reads back as the same f32.
  for (let p = 1; p <= 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(v);
}

function parseNumber(s: string, to: DType): number | bigint {
  const t = s.trim();
  if (to === "i64" || to === "u64") {
    if (/^[+-]?\d+$/.test(t)) return BigInt(t);
  }
  const u = t.toLowerCase();
  if (u === "nan" || u === "+nan" || u === "-nan") return NaN;
  if (u === "inf" || u === "+inf" || u === "infinity" || u === "+infinity") return Infinity;
  if (u === "-inf" || u === "-infinity") return -Infinity;
  return Number(t);
}

export const cast: Kernel = (
  inputs,
  attrs,
) => [castTensor(input(inputs, 0), attrDType(attrs, "to"))];
