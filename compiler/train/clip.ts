/**
 * Gradient clipping as graph ops, applied to all gradients before the
 * optimiser update: by global norm (torch.nn.utils.clip_grad_norm_) or by
 * value (clip_grad_value_).
 */
import type { GraphBuilder } from "../ops/builder.ts";
import { trainMath } from "./graph_math.ts";

export type ClipSpec = { kind: "norm"; maxNorm: number } | { kind: "value"; clipValue: number };

/**
 * Clip `grads` (value names) and return the clipped ones in the same order,
 * with the global L2 norm before clipping (`norm`, f32 scalar) when
 * clipping by norm. By norm: g * min(1, maxNorm / (||g|| + 1e-6)) with
 * ||g|| = sqrt(sum over all grads of sum g^2), as torch does.
 */
export function buildClip(
  b: GraphBuilder,
  spec: ClipSpec,
  grads: string[],
): { grads: string[]; norm?: string } {
  const e = trainMath(b);
  if (grads.length === 0) return { grads: [] };
  if (spec.kind === "value") {
    const lo = e.num(-spec.clipValue), hi = e.num(spec.clipValue);
    return { grads: grads.map((g) => e.op1("Clip", [g, lo, hi]).name) };
  }
  const sq = grads.map((g) => e.v(g).sumSquare(undefined, false));
  const total = sq.length === 1 ? sq[0] : e.op1("Sum", sq);
  const norm = total.sqrt();
  // coef = min(1, maxNorm / (||g|| + 1e-6))
  const coef = e.num(spec.maxNorm).div(norm.add(1e-6)).min(1);
  return { grads: grads.map((g) => e.v(g).mul(coef).name), norm: norm.name };
}
