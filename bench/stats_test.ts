import assert from "node:assert/strict";
import { median, summarize, timeSync } from "./stats.ts";

Deno.test("median() takes the middle value of an odd-length list, unsorted", () => {
  assert.equal(median([5, 1, 3]), 3);
});

Deno.test("median() averages the two middle values of an even-length list", () => {
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

Deno.test("median() rejects an empty list", () => {
  assert.throws(() => median([]), RangeError);
});

Deno.test("median() leaves its argument in its order", () => {
  const xs = [3, 1, 2];
  median(xs);
  assert.deepEqual(xs, [3, 1, 2]);
});

Deno.test("summarize() reports median, min, max and every run", () => {
  assert.deepEqual(summarize([2, 9, 1]), { median: 2, min: 1, max: 9, runs: [2, 9, 1] });
});

Deno.test("timeSync() calls the function warmup + runs times and times only the runs", () => {
  let calls = 0;
  const t = timeSync(() => calls++, { warmup: 2, runs: 5 });
  assert.equal(calls, 7);
  assert.equal(t.runs.length, 5);
  assert.ok(t.runs.every((r) => r >= 0));
});

Deno.test("timeSync() times at least one run even when asked for none", () => {
  assert.equal(timeSync(() => {}, { warmup: 0, runs: 0 }).runs.length, 1);
});
