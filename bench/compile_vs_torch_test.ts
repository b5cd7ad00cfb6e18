import assert from "node:assert/strict";
import { exportMs, ratioOf, roundOrder } from "./compile_vs_torch.ts";

Deno.test("roundOrder() rotates the processes so each runs first in turn", () => {
  assert.deepEqual(roundOrder(["a", "b", "c"], 0), ["a", "b", "c"]);
  assert.deepEqual(roundOrder(["a", "b", "c"], 1), ["b", "c", "a"]);
  assert.deepEqual(roundOrder(["a", "b", "c"], 5), ["c", "a", "b"]);
  assert.deepEqual(roundOrder([], 3), []);
});

Deno.test("ratioOf() pairs runs of the same round and also divides the medians", () => {
  // Round 2 is slow for both: its ratio stays 10 although the times tripled.
  const r = ratioOf("t/d", [1000, 3000, 1200], [100, 300, 200]);
  assert.deepEqual(r.perRound, { min: 6, median: 10, max: 10 });
  assert.equal(r.ofMedians, 1200 / 200);
});

Deno.test("ratioOf() refuses runs of different rounds", () => {
  assert.throws(() => ratioOf("x", [1, 2], [1]), RangeError);
  assert.throws(() => ratioOf("x", [], []), RangeError);
});

Deno.test("exportMs() reads torch_export.py's last JSON line, in ms", () => {
  assert.equal(exportMs('warning: something\n{"export_seconds": 4.25}\n'), 4250);
  assert.throws(() => exportMs("no json here\n"), /export_seconds/);
});
