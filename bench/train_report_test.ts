import assert from "node:assert/strict";
import { commandHelp } from "../cli/command.ts";
import { COMMANDS } from "../cli/commands/mod.ts";
import {
  cell,
  cliFeatures,
  type Measured,
  nextLevelPlan,
  parseHelpOptions,
  ratioCell,
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
