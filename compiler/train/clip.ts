/**
 * Gradient clipping as graph ops, applied to all gradients before the
 * optimiser update: by global norm (torch.nn.utils.clip_grad_norm_) or by
 * value (clip_grad_value_).
 */
import type { GraphBuilder } from "../ops/builder.ts";
import { GraphMath } from "./graph_math.ts";

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
  const m = new GraphMath(b);
  if (grads.length === 0) return { grads: [] };
  if (spec.kind === "value") {
    const lo = m.c(-spec.clipValue), hi = m.c(spec.clipValue);
    return { grads: grads.map((g) => m.op("Clip", [g, lo, hi])) };
  }
  const sq = grads.map((g) => m.sumSquares(g));
  const total = sq.length === 1 ? sq[0] : b.addNode("Sum", sq)[0];
  const norm = m.sqrt(total);
  const coef = m.op("Min", [m.div(m.c(spec.maxNorm), m.add(norm, m.c(1e-6))), m.c(1)]);
  return { grads: grads.map((g) => m.mul(g, coef)), norm };
}
