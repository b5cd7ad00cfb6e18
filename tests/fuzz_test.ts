/**
 * The compiler's fuzzer (tools/fuzz.ts) on a fixed seed: 2,000 mutants of the example programs,
 * each compiled in a worker process with a time budget. Any internal error, uncaught exception,
 * hang, crash or diagnostic without a location fails the test, with the input's index to replay
 * it: `deno task fuzz --seed 12 --only INDEX --show`. A longer run is `deno task fuzz --count
 * 50000 --workers 2`.
 */
import assert from "node:assert/strict";
import { CLASSES, formatReport, fuzz } from "../tools/fuzz.ts";

Deno.test("2,000 mutants of the examples compile or get located diagnostics, in bounded time", async () => {
  const report = await fuzz({ seed: 12, count: 2_000, workers: 2 });
  console.log(formatReport(report));
  assert.equal(report.inputs, 2_000);
  // Every class of mutation was tried.
  assert.deepEqual(Object.keys(report.table).sort(), [...CLASSES].sort());
  assert.deepEqual(
    report.failures.map((f) => `#${f.index} ${f.cls} ${f.file}: ${f.outcome}: ${f.detail}`),
    [],
  );
});

Deno.test("the fuzzer reports an input it cannot finish as a hang, and goes on", async () => {
  // A budget no compile meets (none): each of these inputs counts as a hang, and each takes a
  // new worker.
  const report = await fuzz({ seed: 12, only: [0, 1], budgetMs: 0, budgetPerMBMs: 0, workers: 1 });
  assert.equal(report.inputs, 2);
  assert.deepEqual(report.failures.map((f) => f.outcome), ["hang", "hang"]);
});
