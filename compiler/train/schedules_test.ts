import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import { tensor, toNumbers } from "../ir/tensor.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { buildSchedule, type ScheduleSpec } from "./schedules.ts";

function rates(spec: ScheduleSpec, n: number, base: number): number[] {
  const b = new GraphBuilder("schedule");
  const step = b.input("step", { dtype: "i64", shape: [] });
  b.output(buildSchedule(b, spec, step, base), "lr");
  return Array.from(
    { length: n },
    (_, k) =>
      +toNumbers(runGraph(b.graph, { step: tensor("i64", [], [k]) }).outputs.lr)[0].toFixed(6),
  );
}

Deno.test("step decay halves the rate every step_size updates", () => {
  assert.deepEqual(rates({ kind: "step", stepSize: 2, gamma: 0.5 }, 5, 1), [1, 1, 0.5, 0.5, 0.25]);
});

Deno.test("linear warm-up ramps from startFactor, then the schedule starts at its own step 0", () => {
  assert.deepEqual(
    rates({ kind: "exponential", gamma: 0.5, warmup: { steps: 2, startFactor: 0.5 } }, 5, 1),
    [0.5, 0.75, 1, 0.5, 0.25],
  );
});

Deno.test("cosine annealing reaches eta_min at T_max", () => {
  const r = rates({ kind: "cosine", tMax: 4, etaMin: 0.1 }, 5, 1);
  assert.equal(r[0], 1);
  assert.equal(r[2], 0.55);
  assert.equal(r[4], 0.1);
});
