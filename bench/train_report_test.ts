import assert from "node:assert/strict";
import { commandHelp } from "../cli/command.ts";
import { COMMANDS } from "../cli/commands/mod.ts";
import { summarize } from "./stats.ts";
import {
  cell,
  cliFeatures,
  lastValAccuracy,
  type Measured,
  medianMeasured,
  type ModelReport,
  nextLevelPlan,
  parseHelpOptions,
  ratioCell,
  roundRatios,
  startupTables,
  worthAnotherRound,
} from "./train_report.ts";

const ok = (ms: number): Measured => ({ status: "ok", ms });
const timedOut: Measured = { status: "timed out", limitMs: 120_000 };

Deno.test("cell() shows milliseconds, seconds from 10 s, and what happened instead of a time", () => {
  assert.deepEqual(
    [
      cell(ok(12.34)),
      cell(ok(9999)),
      cell(ok(716_000)),
      cell(timedOut),
      cell({ status: "failed", error: "boom" }),
      cell({ status: "skipped", reason: "a lower level timed out" }),
      cell(undefined),
    ],
    ["12.3", "9999", "716.0 s", "timed out (>120 s)", "failed", "skipped", "-"],
  );
});

Deno.test("ratioCell() divides two measured times and has no ratio when either is missing", () => {
  assert.equal(ratioCell(ok(300), ok(100)), "3.00x");
  assert.equal(ratioCell(timedOut, ok(100)), "-");
  assert.equal(ratioCell(ok(100), undefined), "-");
  assert.equal(ratioCell(ok(100), ok(0)), "-");
});

Deno.test("parseHelpOptions() reads long options, with or without a short form, and nothing else", () => {
  const help = [
    "usage: dlm train FILE.dlm --data NAME=PATH ... [--epochs E]",
    "",
    "options:",
    "  --data NAME=PATH       a named array (see --epochs)",
    "  -o, --out DIR          write here",
    "  --no-cache             ignore the optimised-model cache",
    "  -h, --help             show this help",
  ].join("\n");
  assert.deepEqual([...parseHelpOptions(help)], ["data", "out", "no-cache", "help"]);
});

Deno.test("parseHelpOptions() reads the real help of dlm train and dlm run", () => {
  const train = parseHelpOptions(commandHelp("train", COMMANDS.train));
  const run = parseHelpOptions(commandHelp("run", COMMANDS.run));
  for (const o of ["data", "epochs", "batch-size", "steps-per-run", "model", "dim", "help"]) {
    assert.ok(train.has(o), `dlm train --${o}`);
  }
  for (const o of ["input", "dim", "model", "weights", "backend"]) {
    assert.ok(run.has(o), `dlm run --${o}`);
  }
});

Deno.test("cliFeatures() sees a cache only when both commands take --no-cache, and names its variables", () => {
  const opt = (name: string, text = "") => `  --${name}  ${text}`;
  const train = [opt("data"), opt("no-cache", "skip the cache in $DLM_CACHE_DIR")].join("\n");
  const run = [opt("input"), opt("no-cache")].join("\n");
  assert.deepEqual(cliFeatures(train, run), {
    cache: true,
    cacheEnv: ["DLM_CACHE_DIR"],
    levelOption: undefined,
  });
  assert.equal(cliFeatures(train, opt("input")).cache, false);
  assert.equal(
    cliFeatures([opt("data"), opt("ort-level", "L")].join("\n"), run).levelOption,
    "ort-level",
  );
});

Deno.test("nextLevelPlan() measures until a level times out, then skips the higher ones", () => {
  assert.equal(nextLevelPlan([]), "measure");
  assert.equal(nextLevelPlan([ok(18_000), ok(111_000)]), "measure");
  assert.equal(nextLevelPlan([{ status: "failed", error: "x" }]), "measure");
  assert.deepEqual(nextLevelPlan([ok(18_000), timedOut]), { skip: "a lower level timed out" });
});

Deno.test("worthAnotherRound() stops the rounds of a kind that timed out", () => {
  assert.equal(worthAnotherRound([ok(1), ok(2)]), true);
  assert.equal(worthAnotherRound([ok(1), timedOut]), false);
});

function report(overrides: Partial<ModelReport> = {}): ModelReport {
  return {
    model: "mobilenet_v2 32x32",
    file: "bench/models/mobilenet_v2.dlm",
    batch: 16,
    nodes: { forward: 100, evaluation: 110, step: 10111, stepOverForward: 101.11 },
    compileMs: 1500,
    levels: {
      disabled: { create: ok(18_000), stepMs: summarize([252, 260]) },
      basic: { create: timedOut },
      extended: { create: { status: "skipped", reason: "a lower level timed out" } },
      all: { create: { status: "skipped", reason: "a lower level timed out" } },
    },
    stepMs: undefined,
    torch: { result: ok(9000), stepMs: summarize([246]), forwardMs: summarize([80]), threads: 2 },
    process: { train: timedOut, run: ok(1200) },
    ...overrides,
  };
}

Deno.test("startupTables() shows counts, each level, and timeouts where a model does not load", () => {
  const [graph, run] = startupTables([report()], { cache: false, cacheEnv: [] }).split("\n\n");
  const g = graph.split("\n");
  assert.match(g[0], /^model +forward nodes +step nodes +step\/forward +compile +session disabled/);
  assert.ok(!g[0].includes("dlm session cold"), "no cache columns without a cache");
  assert.match(
    g[2],
    /mobilenet_v2 32x32 +100 +10111 +101\.1x +1500 +18\.0 s +timed out \(>120 s\) +skipped +skipped +256 +-/,
  );
  const r = run.split("\n");
  assert.match(
    r[0],
    /^model +step ms +PyTorch step ms +step\/PyTorch +dlm train to 1st step +dlm run +train\/run$/,
  );
  assert.match(r[2], /mobilenet_v2 32x32 +- +246 +- +timed out \(>120 s\) +1200 +-$/);
});

Deno.test("startupTables() adds cold and warm columns when the CLI has a cache", () => {
  const text = startupTables([
    report({
      stepMs: 123,
      dlmSession: { cold: ok(20_000), warm: ok(300) },
      process: { train: ok(25_000), run: ok(1000), trainWarm: ok(1800), runWarm: ok(1000) },
    }),
  ], { cache: true, cacheEnv: [] });
  const [graph, run] = text.split("\n\n");
  assert.match(graph.split("\n")[0], /dlm session cold +warm$/);
  assert.match(graph.split("\n")[2], /20\.0 s +300$/);
  assert.match(run.split("\n")[0], /warm train +warm run +warm train\/run$/);
  assert.match(
    run.split("\n")[2],
    / 123 +246 +0\.50x +25\.0 s +1000 +25\.00x +1800 +1000 +1\.80x$/,
  );
});

Deno.test("lastValAccuracy() reads the last validation accuracy, as a fraction", () => {
  const out = [
    "epoch 1/2  loss 1.2  val_accuracy 0.9000  (0.1 s)",
    "epoch 2/2  loss 0.4  val_accuracy 0.9833  (0.1 s)",
    "trained 2 epochs: loss 0.4, val_accuracy 0.9833",
  ].join("\n");
  assert.equal(lastValAccuracy(out), 0.9833);
  assert.equal(lastValAccuracy("val_accuracy 97.5%"), 0.975);
  assert.equal(lastValAccuracy("trained 1 epoch: loss 0.3"), undefined);
});

Deno.test("startupTables() gives each train/run ratio's range over rounds beside the ratio of the medians", () => {
  const text = startupTables([
    report({
      stepMs: 123,
      process: {
        train: ok(2000),
        run: ok(1000),
        trainWarm: ok(1100),
        runWarm: ok(500),
        ratios: { cold: [1.9, 2.0, 2.4], warm: [2.2] },
      },
    }),
  ], { cache: true, cacheEnv: [] });
  const row = text.split("\n\n")[1].split("\n")[2];
  // Cold: three rounds, a range; warm: one round, the ratio alone.
  assert.match(row, / 2000 +1000 +2\.00x \(1\.90-2\.40\) +1100 +500 +2\.20x$/);
});

Deno.test("medianMeasured() and roundRatios() keep a round that failed visible", () => {
  assert.deepEqual(medianMeasured([ok(3), ok(1), ok(2)]), ok(2));
  assert.deepEqual(medianMeasured([ok(3), ok(1)]), ok(2));
  assert.deepEqual(medianMeasured([ok(3), timedOut]), timedOut);
  assert.deepEqual(roundRatios([ok(4), timedOut, ok(9)], [ok(2), ok(1), ok(3)]), [2, 3]);
});
