import assert from "node:assert/strict";
import { maxAbsDiff, parseSeqBenchArgs, tokenTimes } from "./bench_seq.ts";

Deno.test("parseSeqBenchArgs() fills in the defaults", () => {
  const a = parseSeqBenchArgs([], "out.json");
  assert.deepEqual(a, {
    runs: 3,
    ortRuns: 20,
    prompt: 128,
    newTokens: 32,
    torchDir: "/tmp/dlm-bench",
    out: "out.json",
    skipCompile: false,
    help: false,
  });
});

Deno.test("parseSeqBenchArgs() reads --name value and --name=value forms", () => {
  const a = parseSeqBenchArgs(
    ["--runs", "2", "--ort-runs=25", "--new", "0", "--torch-dir", "/x", "--skip-compile"],
    "o",
  );
  assert.equal(a.runs, 2);
  assert.equal(a.ortRuns, 25);
  assert.equal(a.newTokens, 0);
  assert.equal(a.torchDir, "/x");
  assert.equal(a.skipCompile, true);
});

Deno.test("parseSeqBenchArgs() rejects fewer than 20 onnxruntime runs", () => {
  assert.throws(
    () => parseSeqBenchArgs(["--ort-runs", "5"], "o"),
    /Option --ort-runs expects an integer >= 20, got '5'/,
  );
});

Deno.test("parseSeqBenchArgs() rejects a prompt and new tokens beyond GPT-2's 1024 positions", () => {
  assert.throws(
    () => parseSeqBenchArgs(["--prompt", "1000", "--new", "32"], "o"),
    /GPT-2 small has 1024 positions, but --prompt 1000 and --new 32 need 1032/,
  );
});

Deno.test("parseSeqBenchArgs() names the known options when given an unknown one", () => {
  assert.throws(() => parseSeqBenchArgs(["--fast"], "o"), /Unknown option '--fast'; expected/);
});

Deno.test("tokenTimes() keeps the prompt call apart from the per-token calls", () => {
  assert.deepEqual(tokenTimes([50, 10, 12, 11]), { first: 50, median: 11, mean: 11, total: 83 });
});

Deno.test("tokenTimes() of a single call has no per-token figures", () => {
  const t = tokenTimes([7]);
  assert.equal(t.first, 7);
  assert.equal(t.total, 7);
  assert.ok(Number.isNaN(t.median));
});

Deno.test("maxAbsDiff() is the largest absolute difference and propagates NaN", () => {
  assert.equal(maxAbsDiff([1, 2, 3], [1, 2.5, 1]), 2);
  assert.ok(Number.isNaN(maxAbsDiff([1, NaN], [1, 0])));
  assert.throws(() => maxAbsDiff([1], [1, 2]), RangeError);
});
