/**
 * Learning-rate schedules as graph ops: the rate of update number `step`
 * (an i64 scalar, 0 for the first update) in closed form. Each schedule's
 * arguments, defaults and rate are declared once, in
 * compiler/check/builtins/train_rules.ts; this file adds the warm-up and
 * the choice between warm-up and schedule.
 */
import type { GraphBuilder } from "../ops/builder.ts";
import { trainMath } from "./graph_math.ts";
import type { Expr } from "../ir/expr.ts";
import { scheduleRule, type ScheduleSpec, withDefaults } from "../check/builtins/train_rules.ts";

export type { ScheduleSpec } from "../check/builtins/train_rules.ts";

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

/** The schedule's rate after the warm-up, from its own step `s` (f32). */
function main(spec: ScheduleSpec, s: Expr, base: Expr): Expr {
  if (spec.kind === "constant") return base;
  const rule = scheduleRule(spec.kind);
  if (!rule) throw new Error(`internal: unknown schedule ${spec.kind}`);
  return rule.rate(s, base, withDefaults(rule, spec));
}
