/**
 * Learning-rate schedules as graph ops: the rate of update number `step`
 * (an i64 scalar, 0 for the first update) in closed form, as torch's
 * lr_scheduler gives it when `scheduler.step()` follows every
 * `optimizer.step()`.
 */
import type { GraphBuilder } from "../ops/builder.ts";
import { trainMath } from "./graph_math.ts";
import type { Expr } from "../ir/expr.ts";

export type ScheduleSpec =
  & (
    | { kind: "constant" }
    /** StepLR: lr gamma^floor(step / stepSize). */
    | { kind: "step"; stepSize: number; gamma?: number }
    /** ExponentialLR: lr gamma^step. */
    | { kind: "exponential"; gamma: number }
    /** CosineAnnealingLR: etaMin + (lr - etaMin)(1 + cos(pi step / tMax)) / 2. */
    | { kind: "cosine"; tMax: number; etaMin?: number }
  )
  & {
    /**
     * Linear warm-up first (torch LinearLR(startFactor, 1, steps) followed
     * by the schedule through SequentialLR): for step < steps,
     * lr (startFactor + (1 - startFactor) step / steps); afterwards the
     * schedule above runs from its own step 0 at step = steps.
     */
    warmup?: { steps: number; startFactor?: number };
  };

/**
 * Append the schedule and return the f32 scalar learning rate of update
 * `step`. `baseLr` is a number or an f32 scalar value of the graph.
 */
export function buildSchedule(
  b: GraphBuilder,
  spec: ScheduleSpec,
  step: string,
  baseLr: number | string,
): string {
  const e = trainMath(b);
  const base = typeof baseLr === "number" ? e.num(baseLr) : e.v(baseLr);
  const w = spec.warmup;
  const stepV = e.v(step);
  const s = w ? stepV.sub(e.scalar(w.steps, "i64")).max(e.scalar(0, "i64")) : stepV;
  const after = main(spec, s.cast("f32"), base);
  if (!w) return after.name;
  const f0 = w.startFactor ?? 1 / w.steps;
  // factor = f0 + (1 - f0) step / steps
  const factor = e.num(f0).add(stepV.cast("f32").scale((1 - f0) / w.steps));
  const warm = base.mul(factor);
  return stepV.less(e.scalar(w.steps, "i64")).where(warm, after).name;
}

function main(spec: ScheduleSpec, s: Expr, base: Expr): Expr {
  const e = s.graph;
  switch (spec.kind) {
    case "constant":
      return base;
    case "step": {
      const k = s.scale(1 / spec.stepSize).op("Floor");
      return base.mul(e.num(spec.gamma ?? 0.1).pow(k));
    }
    case "exponential":
      return base.mul(e.num(spec.gamma).pow(s));
    case "cosine": {
      const eta = e.num(spec.etaMin ?? 0);
      const cos = s.scale(Math.PI / spec.tMax).cos();
      // (base - eta) (1 + cos) / 2 + eta
      return eta.add(base.sub(eta).mul(e.num(1).add(cos).scale(0.5)));
    }
  }
}
