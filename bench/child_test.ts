import assert from "node:assert/strict";
import { lastJsonLine, runChild, tail } from "./child.ts";

const deno = Deno.execPath();

Deno.test("runChild() collects a child's output and exit", async () => {
  const r = await runChild(deno, ["eval", "console.log('a'); console.error('b')"], {
    timeoutMs: 30_000,
  });
  assert.equal(r.status, "ok");
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "a\n");
  assert.equal(r.stderr, "b\n");
});

Deno.test("runChild() reports a non-zero exit as failed", async () => {
  const r = await runChild(deno, ["eval", "Deno.exit(3)"], { timeoutMs: 30_000 });
  assert.deepEqual([r.status, r.code], ["failed", 3]);
});

Deno.test("runChild() kills a child at its time limit and says it timed out", async () => {
  const t0 = performance.now();
  const r = await runChild(deno, [
    "eval",
    "console.log('started'); await new Promise((r) => setTimeout(r, 60_000))",
  ], {
    timeoutMs: 1500,
  });
  assert.equal(r.status, "timed out");
  assert.equal(r.code, undefined);
  assert.ok(performance.now() - t0 < 30_000, "did not wait for the child");
  assert.ok(r.ms >= 1500);
});

Deno.test("runChild() passes extra environment variables", async () => {
  const r = await runChild(deno, ["eval", "console.log(Deno.env.get('DLM_BENCH_TEST'))"], {
    env: { DLM_BENCH_TEST: "x1" },
    timeoutMs: 30_000,
  });
  assert.equal(r.stdout.trim(), "x1");
});

Deno.test("lastJsonLine() parses the last non-empty line and says what it found otherwise", () => {
  assert.deepEqual(lastJsonLine('log line\n{"createMs": 3, "runs": [1]}\n\n'), {
    createMs: 3,
    runs: [1],
  });
  assert.throws(() => lastJsonLine(""), /printed nothing/);
  assert.throws(() => lastJsonLine("done\n"), /last line is not JSON: done/);
});

Deno.test("tail() keeps the last non-empty lines", () => {
  assert.equal(tail("a\n\nb\nc\n\n", 2), "b\nc");
});
