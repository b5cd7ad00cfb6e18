/**
 * KV-cache generation on GPT2Tiny / GPT2TinyCached (lang-examples/gpt2.dlm):
 * the cached step model has the plain model's parameters, computes the same
 * logits when the sequence is fed in pieces, and `generate` with the cache
 * gives the same tokens as re-running the whole sequence each step.
 */
import assert from "node:assert/strict";
import { buildGraph } from "../cli/pipeline.ts";
import type { Graph } from "../compiler/ir/graph.ts";
import { type Tensor, tensor } from "../compiler/ir/tensor.ts";
import { parseArgs, UsageError } from "../cli/args.ts";
import { generateCommand } from "../cli/commands/mod.ts";
import { DlmError } from "../compiler/diagnostics.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { saveWeights } from "../runtime/weights.ts";
import { cacheInputs, emptyCache, generate } from "../runtime/generate.ts";

const FILE = new URL("../lang-examples/gpt2.dlm", import.meta.url).pathname;

/**
 * GPT2Tiny's initial weights make it repeat the last token (the N(0, 1)
 * token embedding dominates the residual stream), which would make "same
 * tokens" trivially true. Shrinking the embeddings and growing the block
 * weights makes the attention and MLPs decide: varied tokens.
 */
function lively(): string {
  const g = buildGraph(FILE, { model: "GPT2Tiny", seed: 3, passes: false }).graph;
  for (const [n, t] of g.initializers) {
    const k = /^(wte|wpe)\.weight$/.test(n)
      ? 0.3
      : /^h\..*\.(c_attn|c_proj|c_fc)\.weight$/.test(n)
      ? 3
      : 1;
    if (k === 1) continue;
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i] *= k;
  }
  const path = Deno.makeTempFileSync({ suffix: ".safetensors" });
  saveWeights(g, path);
  return path;
}
const WEIGHTS = lively();
const plain = buildGraph(FILE, { model: "GPT2Tiny", weights: WEIGHTS }).graph;
const cached = buildGraph(FILE, { model: "GPT2TinyCached", weights: WEIGHTS }).graph;
Deno.removeSync(WEIGHTS);
const PROMPT = [[5, 17, 42, 9], [1, 2, 3, 60]];

function params(g: Graph): [string, number[]][] {
  return [...g.initializers].filter(([n]) => g.params.some((p) => p.name === n))
    .map(([n, t]) => [n, t.shape]);
}

Deno.test("the cached step model has exactly the plain model's parameter names and shapes", () => {
  const d = buildGraph(FILE, { model: "GPT2Tiny", passes: false }).graph;
  const c = buildGraph(FILE, { model: "GPT2TinyCached", passes: false }).graph;
  assert.deepEqual(c.params.map((p) => p.name), d.params.map((p) => p.name));
  assert.deepEqual(params(c), params(d));
});

Deno.test("one weights file saved from the plain model loads into the cached one", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/gpt2_tiny.safetensors`;
    const source = buildGraph(FILE, { model: "GPT2Tiny", seed: 99, passes: false }).graph;
    saveWeights(source, path);
    const b = buildGraph(FILE, { model: "GPT2TinyCached", seed: 1, weights: path, passes: false });
    assert.deepEqual(b.warnings, []);
    for (const p of source.params) {
      assert.deepEqual(
        b.graph.initializers.get(p.name)!.data,
        source.initializers.get(p.name)!.data,
      );
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("prefill of 3 tokens then 2 single steps gives the plain model's logits for all 5", () => {
  const seq = [7, 3, 30, 12, 50];
  const full = runGraph(plain, { ids: tensor("i64", [1, 5], seq) }).outputs.logits;
  const slots = cacheInputs(cached.inputs, cached.outputs.map((o) => o.name));
  let past: Record<string, Tensor> = Object.fromEntries(
    slots.map((s) => [s.input.name, emptyCache(s, 1)]),
  );
  const pieces: number[] = [];
  for (const part of [seq.slice(0, 3), [seq[3]], [seq[4]]]) {
    const out = runGraph(cached, { ids: tensor("i64", [1, part.length], part), ...past }).outputs;
    pieces.push(...out.logits.data as Float32Array);
    past = { past_key: out.present_key, past_value: out.present_value };
  }
  assert.deepEqual(past.past_key.shape, [2, 1, 4, 5, 8]);
  assert.equal(pieces.length, full.data.length);
  let worst = 0;
  for (let i = 0; i < pieces.length; i++) {
    worst = Math.max(worst, Math.abs(pieces[i] - (full.data[i] as number)));
  }
  assert.ok(worst <= 1e-4, `max abs difference ${worst}`);
});

for (const backend of ["node", "reference"] as const) {
  Deno.test(`greedy generation with the KV cache gives the tokens of full re-runs on ${backend}`, async () => {
    const opts = { prompt: PROMPT, maxNew: 8, backend };
    const withCache = await generate({ ...opts, model: cached, cached: true });
    const without = await generate({ ...opts, model: plain, cached: false });
    assert.equal(withCache.cached, true);
    assert.equal(without.cached, false);
    assert.deepEqual(withCache.tokens, without.tokens);
    assert.ok(new Set(withCache.tokens.flat()).size > 3, `varied tokens: ${withCache.tokens}`);
    assert.equal(withCache.tokens[0].length, 8);
    assert.equal(withCache.stepMs.length, 8);
  });
}

Deno.test("top-k sampling with a seed is reproducible, and the cache does not change it", async () => {
  const opts = { prompt: PROMPT, maxNew: 6, temperature: 0.8, topK: 5, seed: 42 };
  const a = await generate({ ...opts, model: cached });
  const b = await generate({ ...opts, model: cached });
  const c = await generate({ ...opts, model: plain });
  assert.deepEqual(a.tokens, b.tokens);
  assert.deepEqual(a.tokens, c.tokens);
  const other = await generate({ ...opts, model: cached, seed: 43, temperature: 5, topK: 0 });
  assert.notDeepEqual(other.tokens, a.tokens);
});

Deno.test("generation accepts the model as ONNX bytes", async () => {
  const { emitModel } = await import("../compiler/onnx/emit.ts");
  const r = await generate({
    model: emitModel(cached).model,
    prompt: [[4, 4]],
    maxNew: 3,
    backend: "reference",
  });
  const g = await generate({ model: cached, prompt: [[4, 4]], maxNew: 3, backend: "node" });
  assert.deepEqual(r.tokens, g.tokens);
});

Deno.test("asking for the cache with the plain model is not the model generation expects", async () => {
  await assert.rejects(
    () => generate({ model: plain, prompt: [[1]], maxNew: 1, cached: true }),
    /no inputs named past/,
  );
});

Deno.test("prompts of different lengths are a usage error", async () => {
  await assert.rejects(
    () => generate({ model: plain, prompt: [[1, 2], [3]], maxNew: 1 }),
    /same length, got 2 and 1/,
  );
});

Deno.test("dlm generate prints the tokens and the time per token, with or without the KV cache", async () => {
  const lines: string[] = [];
  const io = { out: (x: string) => lines.push(x), err: (x: string) => lines.push(x) };
  const argv = [FILE, "--model", "GPT2Tiny", "--prompt", "1 2 3", "--max-new", "4"];
  assert.equal(await generateCommand.run(parseArgs(argv, generateCommand.options), io), 0);
  assert.equal(
    await generateCommand.run(parseArgs([...argv, "--no-kv-cache"], generateCommand.options), io),
    0,
  );
  assert.match(lines[0], /^\d+ \d+ \d+ \d+$/);
  assert.match(
    lines[1],
    /^4 tokens in [\d.]+ ms \([\d.]+ ms\/token;.* with the KV cache on onnxruntime-node$/,
  );
  assert.equal(lines[2], lines[0]);
  assert.match(lines[3], /without the KV cache/);
});

Deno.test("dlm generate's --no-cache is the session cache's, as in run and train: alone it warns that the KV cache stays on", async () => {
  const run = async (...extra: string[]) => {
    const out: string[] = [], err: string[] = [];
    const io = { out: (x: string) => out.push(x), err: (x: string) => err.push(x) };
    const argv = [FILE, "--model", "GPT2Tiny", "--prompt", "1 2 3", "--max-new", "4", ...extra];
    assert.equal(await generateCommand.run(parseArgs(argv, generateCommand.options), io), 0);
    return { out, err: err.join("\n") };
  };
  const plain = await run();
  const old = await run("--no-cache");
  // The old meaning (no KV cache) is not taken silently: a warning, and the KV cache is used.
  assert.match(
    old.err,
    /warning DLM0516: --no-cache in dlm generate now turns off the onnxruntime/,
  );
  assert.match(old.err, /--no-kv-cache turns it off/);
  assert.match(old.out[1], / with the KV cache /);
  assert.equal(old.out[0], plain.out[0]);
  assert.equal(plain.err, "");
  // Both switches: no warning, no KV cache, the same tokens.
  const both = await run("--no-cache", "--no-kv-cache", "--optimize", "basic");
  assert.equal(both.err, "");
  assert.match(both.out[1], /without the KV cache/);
  assert.equal(both.out[0], plain.out[0]);
  // --optimize is checked as in run and train.
  await assert.rejects(() => run("--optimize", "fastest"), /--optimize needs one of/);
});

Deno.test("dlm generate without a step model names the missing model and --no-kv-cache", async () => {
  const lstm = new URL("../lang-examples/lstm.dlm", import.meta.url).pathname;
  const argv = [lstm, "--prompt", "1 2"];
  await assert.rejects(
    () => generateCommand.run(parseArgs(argv, generateCommand.options), { out() {}, err() {} }),
    (e: unknown) =>
      e instanceof DlmError && e.diagnostics[0].code === "DLM0128" &&
      /'LstmLanguageModelCached'.*--no-kv-cache/.test(e.diagnostics[0].message),
  );
});

Deno.test("dlm generate rejects a prompt that is not token ids", async () => {
  const argv = [FILE, "--prompt", "1 two"];
  await assert.rejects(
    () => generateCommand.run(parseArgs(argv, generateCommand.options), { out() {}, err() {} }),
    (e: unknown) => e instanceof UsageError && /got 'two'/.test(e.message),
  );
});
