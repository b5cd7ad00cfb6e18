/**
 * Gradient clipping as graph ops, applied to all gradients before the
 * optimiser update. Each rule (by global norm, by value) is declared once,
 * in compiler/check/builtins/train_rules.ts.
 */
import type { GraphBuilder } from "../ops/builder.ts";
import { trainMath } from "./graph_math.ts";
import { clipRule, type ClipSpec } from "../check/builtins/train_rules.ts";

export type { ClipSpec } from "../check/builtins/train_rules.ts";

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
  const rule = clipRule(spec.kind);
  if (!rule) throw new Error(`internal: unknown clipping ${spec.kind}`);
  const r = rule.apply(e, grads.map((g) => e.v(g)), spec);
  return { grads: r.grads.map((g) => g.name), norm: r.norm?.name };
}
