/**
 * Learning-rate schedules as graph ops: the rate of update number `step`
 * (an i64 scalar, 0 for the first update) in closed form, as torch's
 * lr_scheduler gives it when `scheduler.step()` follows every
 * `optimizer.step()`.
 */
import type { GraphBuilder } from "../ops/builder.ts";
import { GraphMath } from "./graph_math.ts";

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
  const m = new GraphMath(b);
  const base = typeof baseLr === "number" ? m.c(baseLr) : baseLr;
  const w = spec.warmup;
  const s = w ? m.op("Max", [m.sub(step, m.c(w.steps, "i64")), m.c(0, "i64")]) : step;
  const after = main(m, spec, m.toFloat(s), base);
  if (!w) return after;
  const f0 = w.startFactor ?? 1 / w.steps;
  // factor = f0 + (1 - f0) step / steps
  const factor = m.add(m.c(f0), m.scale(m.toFloat(step), (1 - f0) / w.steps));
  const warm = m.mul(base, factor);
  return m.where(m.op("Less", [step, m.c(w.steps, "i64")]), warm, after);
}

function main(m: GraphMath, spec: ScheduleSpec, s: string, base: string): string {
  switch (spec.kind) {
    case "constant":
      return base;
    case "step": {
      const k = m.op("Floor", [m.scale(s, 1 / spec.stepSize)]);
      return m.mul(base, m.op("Pow", [m.c(spec.gamma ?? 0.1), k]));
    }
    case "exponential":
      return m.mul(base, m.op("Pow", [m.c(spec.gamma), s]));
    case "cosine": {
      const eta = m.c(spec.etaMin ?? 0);
      const cos = m.op("Cos", [m.scale(s, Math.PI / spec.tMax)]);
      // (base - eta) (1 + cos) / 2 + eta
      return m.add(eta, m.mul(m.sub(base, eta), m.scale(m.add(m.c(1), cos), 0.5)));
    }
  }
}
