/**
 * The compiler's fuzzer (tools/fuzz.ts) on a fixed seed: 2,000 mutants of the example programs,
 * each compiled in a worker process with a time budget. Any internal error, uncaught exception,
 * hang, crash or diagnostic without a location fails the test, with the input's index to replay
 * it: `deno task fuzz --seed 12 --only INDEX --show`. A longer run is `deno task fuzz --count
 * 50000 --workers 2`. The data mode mutates the files dlm reads besides programs (tools/fuzz_data.ts):
 * replay one with `deno task fuzz --data --seed 12 --only INDEX --out DIR` (the file is written there
 * when it fails).
 */
import assert from "node:assert/strict";
import { CLASSES, formatReport, fuzz, input, loadSources } from "../tools/fuzz.ts";
import { DATA_CLASSES, TARGETS } from "../tools/fuzz_data.ts";

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

Deno.test("1,000 mutated data files (.npy, .csv, safetensors, ONNX weights) are read or rejected naming the file", async () => {
  const report = await fuzz({ seed: 12, count: 1_000, workers: 2, data: true });
  console.log(formatReport(report));
  assert.equal(report.inputs, 1_000);
  // Every target was given mutants of every class.
  const rows = Object.keys(report.table);
  for (const t of TARGETS) {
    for (const c of DATA_CLASSES) assert.ok(rows.includes(`${t}/${c}`), `${t}/${c} never tried`);
  }
  assert.deepEqual(
    report.failures.map((f) => `#${f.index} ${f.cls} ${f.file}: ${f.outcome}: ${f.detail}`),
    [],
  );
});

Deno.test("--files mutates only the examples it names, and refuses one that is not there", () => {
  const sources = loadSources(["ssd_digits", "rlhf_sort.dlm"]);
  assert.deepEqual(sources.map((s) => s.path.split("/").at(-1)), [
    "rlhf_sort.dlm",
    "ssd_digits.dlm",
  ]);
  for (let i = 0; i < 20; i++) assert.ok(sources.includes(input(3, i, sources).source));
  assert.throws(() => loadSources(["no_such_example"]), /no example 'no_such_example.dlm'/);
});
