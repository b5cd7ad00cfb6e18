import assert from "node:assert/strict";
import { DlmError } from "../compiler/diagnostics.ts";
import { emptyGraph, type Graph, type TensorType } from "../compiler/ir/graph.ts";
import { zeros } from "../compiler/ir/tensor.ts";
import {
  checkMemory,
  DEFAULT_BUDGET_FRACTION,
  estimateMemory,
  formatBytes,
  memoryBudget,
  parseSize,
} from "./memory.ts";
import { prepareInputs } from "./inputs.ts";
import { main } from "../cli/main.ts";

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: "f32", shape });

/**
 * x: f32[N, 4] -> a -> b -> c (each f32[N, 4]) and a weight w: f32[4, 4] read by the first
 * node: a chain keeps at most two intermediate values at once.
 */
function chain(): Graph {
  const g = emptyGraph("Chain");
  g.inputs.push({ name: "x", type: f32("N", 4) });
  g.initializers.set("w", zeros("f32", [4, 4]));
  g.types.set("w", f32(4, 4));
  g.types.set("x", f32("N", 4));
  let prev = "x";
  for (const v of ["a", "b", "c"]) {
    g.nodes.push({
      name: v,
      op: "Relu",
      inputs: v === "a" ? [prev, "w"] : [prev],
      outputs: [v],
      attrs: {},
      spans: [{ file: "chain.dlm", line: 3, col: 7, endLine: 3, endCol: 9 }],
    });
    g.types.set(v, f32("N", 4));
    prev = v;
  }
  g.outputs.push({ name: "c", type: f32("N", 4) });
  return g;
}

Deno.test("a run's memory is its weights, its inputs and the values live at once at its peak", () => {
  const e = estimateMemory(chain(), { N: 1000 });
  assert.equal(e.weights, 64);
  assert.equal(e.inputs, 16_000);
  // a and b, then b and c: two values of 16,000 bytes, never three.
  assert.equal(e.peak, 32_000);
  assert.equal(e.total, 64 + 16_000 + 32_000);
  // The sizes scale it: N ten times larger, every activation ten times larger.
  assert.equal(estimateMemory(chain(), { N: 10_000 }).peak, 320_000);
});

Deno.test("a value read later stays live until its last reader", () => {
  const g = chain();
  // d = a + c: a is live across b and c now.
  g.nodes.push({ name: "d", op: "Add", inputs: ["a", "c"], outputs: ["d"], attrs: {} });
  g.types.set("d", f32("N", 4));
  g.outputs = [{ name: "d", type: f32("N", 4) }];
  assert.equal(estimateMemory(g, { N: 1000 }).peak, 48_000);
});

Deno.test("a node's subgraph (a multi-step Scan's body) adds its own peak while it runs", () => {
  const body = chain();
  const g = emptyGraph("Outer");
  g.inputs.push({ name: "x", type: f32("N", 4) });
  g.types.set("x", f32("N", 4));
  g.nodes.push({ name: "scan", op: "Scan", inputs: ["x"], outputs: ["y"], attrs: { body } });
  g.types.set("y", f32("N", 4));
  g.outputs.push({ name: "y", type: f32("N", 4) });
  const e = estimateMemory(g, { N: 1000 });
  // The body's weights and its peak of 32,000 bytes, beside the Scan's output of 16,000.
  assert.equal(e.peak, 16_000 + 64 + 32_000);
});

Deno.test("a run over its budget is DLM0353, at the source of its largest live value", () => {
  const budget = { bytes: 40_000, origin: "a test's budget" };
  checkMemory(chain(), { N: 100 }, budget, "The model 'Chain'", "--dim N=100");
  let err: DlmError | undefined;
  try {
    checkMemory(chain(), { N: 1000 }, budget, "The model 'Chain'", "--dim N=1000");
  } catch (e) {
    err = e as DlmError;
  }
  assert.ok(err instanceof DlmError);
  const d = err.diagnostics[0];
  assert.equal(d.code, "DLM0353");
  assert.match(
    d.message,
    /^The model 'Chain' with --dim N=1000 needs about 46\.9 KB of memory \(64 bytes of weights, 15\.6 KB of inputs, 31\.3 KB of values live at once, 'a' the largest\), more than the budget of 39\.1 KB \(a test's budget\)/,
  );
  assert.deepEqual([d.span?.file, d.span?.line], ["chain.dlm", 3]);
});

Deno.test("prepareInputs() refuses a run over its budget before drawing the inputs", () => {
  const t0 = performance.now();
  assert.throws(
    () =>
      prepareInputs(chain(), {
        dims: { N: 100_000_000 },
        memoryBudget: { bytes: 2 ** 30, origin: "1G" },
      }),
    (e: unknown) => e instanceof DlmError && e.diagnostics[0].code === "DLM0353",
  );
  // 1.6 GB of random input would take seconds to draw; the refusal takes none of that.
  assert.ok(performance.now() - t0 < 1000);
});

Deno.test("the budget is the option, else $DLM_MEMORY_BUDGET, else a fraction of the machine's memory", () => {
  // The test's own variables, not the process's (shared with parallel test files).
  let vars: Record<string, string> = {};
  const env = (n: string) => vars[n];
  {
    const machine = memoryBudget(undefined, env);
    assert.equal(
      machine.bytes,
      Math.floor(Deno.systemMemoryInfo().total * DEFAULT_BUDGET_FRACTION),
    );
    assert.match(machine.origin, /^75% of the machine's \d+\.\d GB$/);
    vars = { DLM_MEMORY_BUDGET: "2G" };
    assert.deepEqual(memoryBudget(undefined, env), {
      bytes: 2 * 2 ** 30,
      origin: "DLM_MEMORY_BUDGET=2G",
    });
    assert.deepEqual(memoryBudget("512M", env), {
      bytes: 512 * 2 ** 20,
      origin: "--memory-budget 512M",
    });
  }
});

Deno.test("a size is bytes or a number with K, M, G or T; anything else is DLM0501", () => {
  assert.equal(parseSize("1000", "x"), 1000);
  assert.equal(parseSize("1.5G", "x"), 1.5 * 2 ** 30);
  assert.equal(parseSize("64k", "x"), 65536);
  assert.equal(parseSize("2TiB", "x"), 2 * 2 ** 40);
  for (const bad of ["", "x", "-1G", "0", "1e9", "1 PB"]) {
    assert.throws(
      () => parseSize(bad, "--memory-budget"),
      (e: unknown) => e instanceof DlmError && e.diagnostics[0].code === "DLM0501",
      bad,
    );
  }
  assert.equal(formatBytes(1536), "1.5 KB");
});

async function dlm(...argv: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const code = await main(argv, { out: () => {}, err: (s) => err.push(s) });
  return { code, err: err.join("\n") };
}

const MLP = new URL("../lang-examples/mlp.dlm", import.meta.url).pathname;
const MLP_DIGITS = new URL("../lang-examples/mlp_digits.dlm", import.meta.url).pathname;

Deno.test("dlm run refuses --dim sizes whose run exceeds the budget, on every backend, before running", async () => {
  for (const backend of ["node", "reference"]) {
    const t0 = performance.now();
    const r = await dlm(
      "run",
      MLP,
      "--model",
      "MLP",
      "--dim",
      "N=1000000",
      "--memory-budget",
      "1G",
      "--backend",
      backend,
    );
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.err,
      /mlp\.dlm:\d+:\d+: error DLM0353: The model 'MLP' with --dim N=1000000 needs about 4\.\d GB of memory \(.*\), more than the budget of 1\.0 GB \(--memory-budget 1G\)/,
    );
    assert.ok(performance.now() - t0 < 5000, `${backend}: refused only after running`);
  }
  // A run within the budget goes ahead.
  const ok = await dlm("run", MLP, "--model", "MLP", "--dim", "N=100", "--memory-budget", "1G");
  assert.equal(ok.code, 0, ok.err);
});

Deno.test("dlm train refuses a step (parameters, optimiser state, batch) over the budget before training", async () => {
  const data = ["--data", "digits", "--epochs", "1"];
  const r = await dlm("train", MLP_DIGITS, ...data, "--memory-budget", "20K");
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /error DLM0353: The step model with .*N = 32 \(the batch size\)/);
  assert.doesNotMatch(r.err, /epoch 1/);
  // The variable in a process of its own: setting it here would set it for the test files that
  // run beside this one in the same process (deno test --parallel), and fail their training.
  const viaEnv = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../cli/main.ts", import.meta.url).pathname,
      "train",
      MLP_DIGITS,
      ...data,
    ],
    env: { DLM_MEMORY_BUDGET: "20K", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.match(new TextDecoder().decode(viaEnv.stderr), /DLM0353: .*\(DLM_MEMORY_BUDGET=20K\)/);
});
