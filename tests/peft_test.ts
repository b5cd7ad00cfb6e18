/**
 * Fine-tuning end to end: LoRA, IA3, bottleneck adapters, prefix tuning and
 * top-k layers applied to example models; the three emissions (unmerged,
 * merged, inputs) agree with B non-zero; training moves only the methods'
 * parameters and the loss falls; adapter files save and load.
 */
import assert from "node:assert/strict";
import { readHistory } from "./train_history.ts";
import { dlm } from "./cli_testing.ts";
import { compileFile } from "../compiler/compile.ts";
import type { Graph } from "../compiler/ir/graph.ts";
import { type Tensor, tensor } from "../compiler/ir/tensor.ts";
import { decodeModel } from "../compiler/onnx/decode.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { readSafetensors, writeNpy, writeSafetensors } from "../runtime/formats/mod.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";
import { buildGraph } from "../cli/pipeline.ts";
import { saveWeights } from "../runtime/weights.ts";

const ROOT = new URL("../", import.meta.url);
const path = (u: URL) => decodeURIComponent(u.pathname);
const example = (name: string) => path(new URL(`lang-examples/${name}`, ROOT));
const GPT2_LORA = example("gpt2_lora.dlm");
const RESNET_LORA = example("resnet_lora.dlm");

function withTemp(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "dlm_peft_test_" });
    try {
      await fn(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

/** Deterministic values in [-a, a). */
function noise(shape: number[], seed: number, a = 0.5): Tensor {
  const n = shape.reduce((x, y) => x * y, 1);
  const d = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    d[i] = (s / 2 ** 32 * 2 - 1) * a;
  }
  return tensor("f32", shape, d);
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) {
    m = Math.max(m, Math.abs((a.data[i] as number) - (b.data[i] as number)));
  }
  return m;
}

/** Every adapter parameter of a compiled graph set to noise: B non-zero, IA3 vectors not one. */
function adapterNoise(g: Graph): [string, Tensor][] {
  return g.params.filter((p) => p.adapter).map((p, k) => {
    const t = g.initializers.get(p.name)!;
    const n = noise([...t.shape], 100 + k, 0.3);
    if (p.adapter!.startsWith("ia3")) {
      for (let i = 0; i < n.data.length; i++) (n.data as Float32Array)[i] += 1;
    }
    return [p.name, n];
  });
}

function ops(g: Graph): string[] {
  return g.nodes.map((n) => n.op).sort();
}

const TOKENS = { ids: tensor("i64", [2, 6], [1, 5, 9, 13, 2, 7, 33, 0, 63, 12, 8, 4]) };

Deno.test("a derived model starts equal to its base: B = 0, IA3 = 1, adapters' up-projections = 0", () => {
  const src = `
import "${example("gpt2.dlm")}"
model Tuned = GPT2Tiny with
  lora(rank: 2, targets: "h.*.attn.c_attn", parts: (true, false, true)),
  ia3(targets: "h.*.mlp.c_{fc,proj}", feedforward: "h.*.mlp.c_proj", name: "s"),
  adapter(size: 4, targets: "h.*.attn", name: "a")
`;
  const file = Deno.makeTempFileSync({ suffix: ".dlm" });
  try {
    Deno.writeTextFileSync(file, src);
    const base = compileFile(file, { model: "GPT2Tiny" });
    const tuned = compileFile(file, { model: "Tuned" });
    assert.deepEqual(tuned.diagnostics.filter((d) => d.severity === "error"), []);
    const a = runGraph(base.graph!, TOKENS).outputs.logits;
    const b = runGraph(tuned.graph!, TOKENS).outputs.logits;
    assert.ok(maxAbsDiff(a, b) < 1e-5, `${maxAbsDiff(a, b)}`);
    // The base's parameters keep their names and values, and are frozen; the methods' train.
    const g = tuned.graph!;
    for (const p of base.graph!.params) {
      const q = g.params.find((x) => x.name === p.name)!;
      assert.ok(q.frozen, p.name);
      assert.deepEqual(
        g.initializers.get(p.name)!.data,
        base.graph!.initializers.get(p.name)!.data,
      );
    }
    const methods = g.params.filter((p) => p.adapter).map((p) => `${p.adapter} ${p.name}`);
    assert.ok(methods.includes("lora:default h.0.attn.c_attn.lora_A.default.weight"), `${methods}`);
    assert.ok(methods.includes("ia3:s h.1.mlp.c_proj.ia3_l.s"), `${methods}`);
    assert.ok(methods.includes("adapter:a h.0.attn.adapters.a.up.weight"), `${methods}`);
    assert.ok(g.params.filter((p) => p.adapter).every((p) => !p.frozen));
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test("merged, unmerged and inputs emissions agree with B non-zero (GPT-2 q/v parts, IA3)", () => {
  const src = `
import "${example("gpt2.dlm")}"
model Tuned = GPT2Tiny with
  lora(rank: 4, alpha: 8, targets: "h.*.attn.c_attn", parts: (true, false, true), name: "qv"),
  lora(rank: 2, targets: "h.*.mlp.c_{fc,proj}", name: "ff"),
  ia3(targets: "h.*.attn.c_proj", name: "o"),
  ia3(targets: "h.*.attn.c_attn", parts: (false, true, true), name: "kv"),
  ia3(targets: "h.*.mlp.c_proj", feedforward: "h.*.mlp.c_proj", name: "i")
`;
  const dir = Deno.makeTempDirSync();
  try {
    const file = `${dir}/tuned.dlm`;
    Deno.writeTextFileSync(file, src);
    const plain = compileFile(file, { model: "Tuned" }).graph!;
    const w = `${dir}/adapter.safetensors`;
    Deno.writeFileSync(w, writeSafetensors(adapterNoise(plain)));
    const un = buildGraph(file, { model: "Tuned", weights: [w] });
    const merged = buildGraph(file, { model: "Tuned", weights: [w], adapters: "merged" });
    const inputs = buildGraph(file, { model: "Tuned", weights: [w], adapters: "inputs" });
    const base = buildGraph(file, { model: "GPT2Tiny" });
    const y = runGraph(un.graph, TOKENS).outputs.logits;
    const ym = runGraph(merged.graph, TOKENS).outputs.logits;
    const yi = runGraph(inputs.graph, TOKENS).outputs.logits;
    const y0 = runGraph(base.graph, TOKENS).outputs.logits;
    assert.ok(maxAbsDiff(y, y0) > 1e-2, "the adapters change the model");
    assert.ok(maxAbsDiff(y, ym) < 1e-4, `merged differs by ${maxAbsDiff(y, ym)}`);
    assert.ok(maxAbsDiff(y, yi) < 1e-5, `inputs differs by ${maxAbsDiff(y, yi)}`);
    // Merged is the base model's graph: same ops, same parameters, no adapter left.
    assert.deepEqual(ops(merged.graph), ops(base.graph));
    assert.deepEqual(
      merged.graph.params.map((p) => p.name),
      base.graph.params.map((p) => p.name),
    );
    // Inputs: every adapter parameter is a graph input with its loaded value as default.
    const names = inputs.graph.inputs.map((i) => i.name);
    for (const p of plain.params.filter((p) => p.adapter)) assert.ok(names.includes(p.name));
    // Feeding other adapter weights swaps the adapter without recompiling: zeros give the base.
    const zeroB: Record<string, Tensor> = { ...TOKENS };
    for (const p of plain.params.filter((p) => p.adapter)) {
      const t = plain.initializers.get(p.name)!;
      if (p.name.includes("lora_B")) {
        zeroB[p.name] = tensor("f32", [...t.shape], new Float32Array(t.data.length));
      } else zeroB[p.name] = t;
    }
    assert.ok(maxAbsDiff(runGraph(inputs.graph, zeroB).outputs.logits, y0) < 1e-5);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test(
  "LoRA on convolutions merges into the conv weights (ResNet-18, B non-zero)",
  withTemp((dir) => {
    const overrides = { classes: 10, size: 32 };
    const plain = compileFile(RESNET_LORA, { overrides }).graph!;
    const w = `${dir}/a.safetensors`;
    Deno.writeFileSync(w, writeSafetensors(adapterNoise(plain)));
    const image = { image: noise([1, 3, 32, 32], 7, 1) };
    const un = buildGraph(RESNET_LORA, { overrides, weights: [w] });
    const merged = buildGraph(RESNET_LORA, { overrides, weights: [w], adapters: "merged" });
    const base = buildGraph(RESNET_LORA, { overrides, model: "ResNet18" });
    const y = runGraph(un.graph, image).outputs.logits;
    const ym = runGraph(merged.graph, image).outputs.logits;
    assert.ok(maxAbsDiff(y, runGraph(base.graph, image).outputs.logits) > 1e-3);
    assert.ok(maxAbsDiff(y, ym) < 1e-4, `${maxAbsDiff(y, ym)}`);
    assert.deepEqual(ops(merged.graph), ops(base.graph));
  }),
);

Deno.test(
  "dlm train on gpt2_lora: the loss falls and only LoRA parameters change; --save-adapter round-trips",
  withTemp(async (dir) => {
    const N = 32, T = 8;
    const ids: number[] = [], next: number[] = [];
    for (let n = 0; n < N; n++) {
      for (let t = 0; t < T; t++) {
        const v = (n * 3 + t * 5) % 64;
        ids.push(v);
        next.push((v + 5) % 64);
      }
    }
    Deno.writeFileSync(`${dir}/ids.npy`, writeNpy(tensor("i64", [N, T], ids)));
    Deno.writeFileSync(`${dir}/next.npy`, writeNpy(tensor("i64", [N, T], next)));
    const r = await dlm(
      "train",
      GPT2_LORA,
      "--model",
      "GPT2TinyLoRA",
      "--data",
      `ids=${dir}/ids.npy`,
      "--data",
      `next=${dir}/next.npy`,
      "--epochs",
      "4",
      "--val-split",
      "0",
      "--out",
      `${dir}/run`,
      "--save",
      `${dir}/all.safetensors`,
      "--save-adapter",
      `${dir}/qv.safetensors`,
    );
    assert.equal(r.code, 0, r.err);
    const losses = readHistory(`${dir}/run`).map((h) => h.loss);
    assert.ok(losses.at(-1)! < losses[0] - 0.03, `${losses}`);
    const initial = buildGraph(GPT2_LORA, { model: "GPT2TinyLoRA", passes: false }).graph;
    const trained = readSafetensors(Deno.readFileSync(`${dir}/all.safetensors`)).tensors;
    const adapter = readSafetensors(Deno.readFileSync(`${dir}/qv.safetensors`)).tensors;
    for (const p of initial.params) {
      const before = initial.initializers.get(p.name)!, after = trained.get(p.name)!;
      const moved = maxAbsDiff(before, after) > 0;
      assert.equal(moved, !!p.adapter, `${p.name} ${moved ? "moved" : "stayed"}`);
      assert.equal(adapter.has(p.name), !!p.adapter, p.name);
    }
    // The adapter file on top of the base's weights gives the trained model, merged or not.
    const base = `${dir}/base.safetensors`;
    assert.equal(
      (await dlm(
        "compile",
        GPT2_LORA,
        "--model",
        "GPT2Tiny",
        "-o",
        `${dir}/b.onnx`,
        "--save-weights",
        base,
      )).code,
      0,
    );
    const feeds = { ids: tensor("i64", [1, 8], ids.slice(0, 8)) };
    const out: Record<string, Tensor> = {};
    for (const mode of ["unmerged", "merged", "inputs"]) {
      const c = await dlm(
        "compile",
        GPT2_LORA,
        "--model",
        "GPT2TinyLoRA",
        "--weights",
        base,
        "--weights",
        `${dir}/qv.safetensors`,
        "--adapters",
        mode,
        "-o",
        `${dir}/${mode}.onnx`,
      );
      assert.equal(c.code, 0, c.err);
      const g = decodeModel(Deno.readFileSync(`${dir}/${mode}.onnx`)).graph;
      out[mode] = runGraph(g, feeds).outputs.logits;
    }
    const ref = runGraph(
      buildGraph(GPT2_LORA, { model: "GPT2TinyLoRA", weights: [`${dir}/all.safetensors`] }).graph,
      feeds,
    ).outputs.logits;
    for (const mode of ["unmerged", "merged", "inputs"]) {
      assert.ok(maxAbsDiff(out[mode], ref) < 1e-4, `${mode}: ${maxAbsDiff(out[mode], ref)}`);
    }
  }),
);

Deno.test(
  "dlm train on resnet_lora: LoRA on convolutions and the new head train, nothing else moves",
  withTemp(async (dir) => {
    // 16 noise images of 4 classes: the adapted network overfits them.
    const N = 16;
    Deno.writeFileSync(`${dir}/image.npy`, writeNpy(noise([N, 3, 32, 32], 3, 1)));
    Deno.writeFileSync(
      `${dir}/label.npy`,
      writeNpy(tensor("i64", [N], Array.from({ length: N }, (_, i) => i % 4))),
    );
    const r = await dlm(
      "train",
      RESNET_LORA,
      "--set",
      "classes=4",
      "--set",
      "size=32",
      "--data",
      `image=${dir}/image.npy`,
      "--data",
      `label=${dir}/label.npy`,
      "--epochs",
      "6",
      "--batch-size",
      "8",
      "--val-split",
      "0",
      "--out",
      `${dir}/run`,
      "--save",
      `${dir}/all.safetensors`,
    );
    assert.equal(r.code, 0, r.err);
    const losses = readHistory(`${dir}/run`).map((h) => h.loss);
    assert.ok(losses.at(-1)! < losses[0] * 0.9, `${losses}`);
    const initial =
      buildGraph(RESNET_LORA, { overrides: { classes: 4, size: 32 }, passes: false }).graph;
    const trained = readSafetensors(Deno.readFileSync(`${dir}/all.safetensors`)).tensors;
    // Batch-norm running statistics are buffers, which train mode updates as PyTorch does.
    for (const p of initial.params.filter((p) => p.trainable)) {
      const moved = maxAbsDiff(initial.initializers.get(p.name)!, trained.get(p.name)!) > 0;
      // The LoRA B's and the head move; A's move once B is non-zero; the frozen backbone does not.
      const shouldMove = !!p.adapter || p.name.startsWith("fc.");
      assert.equal(moved, shouldMove, `${p.name} ${moved ? "moved" : "stayed"}`);
    }
  }),
);

Deno.test("the step model of a fine-tuned model has optimiser state only for the methods' parameters", async () => {
  const c = compileTrain(GPT2_LORA, { model: "GPT2TinyLoRA", dims: { T: 6 } });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const state = c.step!.inputs.map((i) => i.name).filter((n) => n.startsWith("opt:"));
  assert.ok(state.length > 0);
  for (const s of state) assert.match(s, /lora_[AB]\.qv\.weight$/, s);
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 2 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
});

Deno.test("prefix tuning prepends learned keys and values at every attention under its targets", () => {
  const src = `
import "${example("gpt2.dlm")}"
model Prefixed = GPT2Tiny with prefix_tuning(length: 3, targets: "h.*.attn")
`;
  const file = Deno.makeTempFileSync({ suffix: ".dlm" });
  try {
    Deno.writeTextFileSync(file, src);
    const r = compileFile(file, { model: "Prefixed" });
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === "error"), []);
    const g = r.graph!;
    const names = g.params.filter((p) => p.adapter).map((p) =>
      `${p.name} [${g.initializers.get(p.name)!.shape}]`
    );
    assert.deepEqual(names, [
      "h.0.attn.prefix.default.key [4,3,8]",
      "h.0.attn.prefix.default.value [4,3,8]",
      "h.1.attn.prefix.default.key [4,3,8]",
      "h.1.attn.prefix.default.value [4,3,8]",
    ]);
    // Causality still holds over the real tokens: changing the last token leaves the first
    // positions' logits alone, while the prefix is seen by all of them.
    const a = runGraph(g, TOKENS).outputs.logits;
    const ids2 = tensor("i64", [2, 6], [1, 5, 9, 13, 2, 60, 33, 0, 63, 12, 8, 4]);
    const b = runGraph(g, { ids: ids2 }).outputs.logits;
    const V = 64;
    let early = 0, last = 0;
    for (let t = 0; t < 6; t++) {
      for (let v = 0; v < V; v++) {
        const d = Math.abs((a.data[t * V + v] as number) - (b.data[t * V + v] as number));
        if (t < 5) early = Math.max(early, d);
        else last = Math.max(last, d);
      }
    }
    assert.ok(early < 1e-6 && last > 1e-4, `${early} ${last}`);
    // A different prefix changes the outputs: the keys and values are used.
    const base = compileFile(file, { model: "GPT2Tiny" }).graph!;
    assert.ok(maxAbsDiff(runGraph(base, TOKENS).outputs.logits, a) > 1e-5);
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test("top_layers trains the last k numbered layers; bad targets are errors at the with line", () => {
  const src = `
import "${example("gpt2.dlm")}"
model Top = GPT2Tiny with top_layers(k: 1, layers: "h", also: "ln_f.*")
model Typo = GPT2Tiny with
  lora(rank: 2, targets: "h.*.atn.c_attn")
model Bad = GPT2Tiny with 3
`;
  const file = Deno.makeTempFileSync({ suffix: ".dlm" });
  try {
    Deno.writeTextFileSync(file, src);
    const top = compileFile(file, { model: "Top" }).graph!;
    const trainable = top.params.filter((p) => p.trainable && !p.frozen).map((p) => p.name);
    assert.ok(trainable.length > 0);
    assert.ok(
      trainable.every((n) => n.startsWith("h.1.") || n.startsWith("ln_f.")),
      `${trainable}`,
    );
    assert.ok(trainable.includes("h.1.attn.c_attn.weight") && trainable.includes("ln_f.bias"));
    const typo = compileFile(file, { model: "Typo" }).diagnostics.find((d) =>
      d.severity === "error"
    )!;
    assert.equal(typo.code, "DLM0215");
    assert.match(typo.message, /matches no linear or convolution layer/);
    assert.equal(typo.span?.line, 5);
    const bad = compileFile(file, { model: "Bad" }).diagnostics.find((d) =>
      d.severity === "error"
    )!;
    assert.match(bad.message, /'with' expects fine-tuning methods/);
    Deno.writeTextFileSync(file, `model Orphan = Missing with lora(rank: 2, targets: "x")\n`);
    const orphan = compileFile(file).diagnostics.find((d) => d.code === "DLM0127")!;
    assert.match(orphan.message, /derives from 'Missing', which is not a model/);
    assert.equal(orphan.span?.line, 1);
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test(
  "--adapters and --save-adapter misuse gets a clear diagnostic",
  withTemp(async (dir) => {
    const bad = await dlm(
      "compile",
      GPT2_LORA,
      "--model",
      "GPT2TinyLoRA",
      "--adapters",
      "folded",
      "-o",
      `${dir}/x.onnx`,
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /--adapters must be one of unmerged, merged, inputs/);
    const none = await dlm(
      "compile",
      example("mlp.dlm"),
      "--save-adapter",
      `${dir}/a.safetensors`,
      "-o",
      `${dir}/m.onnx`,
    );
    assert.notEqual(none.code, 0);
    assert.match(none.err, /has no fine-tuning methods/);
    assert.throws(() => Deno.statSync(`${dir}/m.onnx`), "no half-written output");
    const warn = await dlm(
      "compile",
      example("mlp.dlm"),
      "--adapters",
      "merged",
      "-o",
      `${dir}/m.onnx`,
    );
    assert.equal(warn.code, 0);
    assert.match(warn.err, /has no fine-tuning methods/);
  }),
);

Deno.test(
  "dlm generate with a LoRA model: the cached step model carries the same adapter",
  withTemp(async (dir) => {
    const w = `${dir}/w.safetensors`;
    // Full weights first: the cached model has no init rules of its own (HF init lives in GPT2).
    const all = `${dir}/all.safetensors`;
    const c = await dlm(
      "compile",
      GPT2_LORA,
      "--model",
      "GPT2TinyLoRA",
      "-o",
      `${dir}/m.onnx`,
      "--save-weights",
      all,
    );
    assert.equal(c.code, 0, c.err);
    const plain = buildGraph(GPT2_LORA, { model: "GPT2TinyLoRA", passes: false }).graph;
    Deno.writeFileSync(w, writeSafetensors(adapterNoise(plain)));
    const gen = async (model: string, ...extra: string[]) => {
      const r = await dlm(
        "generate",
        GPT2_LORA,
        "--model",
        model,
        "--prompt",
        "1 2 3",
        "--max-new",
        "6",
        ...extra,
      );
      assert.equal(r.code, 0, r.err);
      return r.out.trim().split("\n")[0];
    };
    const cached = await gen("GPT2TinyLoRA", "--weights", all, "--weights", w);
    assert.equal(
      await gen("GPT2TinyLoRA", "--weights", all, "--weights", w, "--no-kv-cache"),
      cached,
    );
    // The adapter is applied: without it (B = 0) the tokens differ.
    assert.notEqual(await gen("GPT2TinyLoRA", "--weights", all), cached);
  }),
);

/** Logits of the last of 4 tokens: the whole sequence at once, and a cached step after 3. */
function cachedAndFull(file: string, model: string, weights: string[]): [Tensor, Tensor] {
  const full = buildGraph(file, { model, weights }).graph;
  const step = buildGraph(file, { model: `${model}Cached`, weights }).graph;
  const ids = [7, 1, 42, 5];
  const y = runGraph(full, { ids: tensor("i64", [1, 4], ids) }).outputs.logits;
  const empty = tensor("f32", [2, 1, 4, 0, 8], []);
  const pre = runGraph(step, {
    ids: tensor("i64", [1, 3], ids.slice(0, 3)),
    past_key: empty,
    past_value: empty,
  }).outputs;
  const next = runGraph(step, {
    ids: tensor("i64", [1, 1], ids.slice(3)),
    past_key: pre.present_key,
    past_value: pre.present_value,
  }).outputs.logits;
  const V = 64;
  return [tensor("f32", [V], (y.data as Float32Array).slice(3 * V)), next];
}

Deno.test(
  "prefix tuning and LoRA reach the KV-cache step models: a cached step equals the full run",
  withTemp((dir) => {
    for (
      const [file, model] of [[example("gpt2_prefix.dlm"), "GPT2TinyPrefix"], [
        GPT2_LORA,
        "GPT2TinyLoRA",
      ]]
    ) {
      // The full model's weights (the cached one has no init rules of its own), then the method's.
      const plain = buildGraph(file, { model, passes: false }).graph;
      const all = `${dir}/${model}.all.safetensors`, w = `${dir}/${model}.safetensors`;
      saveWeights(plain, all);
      Deno.writeFileSync(w, writeSafetensors(adapterNoise(plain)));
      const [full, cached] = cachedAndFull(file, model, [all, w]);
      assert.ok(
        maxAbsDiff(full, tensor("f32", [64], cached.data as Float32Array)) < 1e-4,
        `${model}: ${maxAbsDiff(full, tensor("f32", [64], cached.data as Float32Array))}`,
      );
      const [base] = cachedAndFull(file, model, [all]);
      assert.ok(maxAbsDiff(full, base) > 1e-3, `${model}: the method changes the logits`);
    }
  }),
);

Deno.test(
  "LoRA and IA3 (output and input scaling) on the same convolutions merge exactly",
  withTemp((dir) => {
    const file = `${dir}/combo.dlm`;
    Deno.writeTextFileSync(
      file,
      `import "${example("resnet18.dlm")}"
model Combo = ResNet18 with
  lora(rank: 2, targets: "layer4.*.conv{1,2}", name: "a"),
  ia3(targets: "layer4.0.conv1", name: "o"),
  ia3(targets: "layer4.1.conv2", feedforward: "layer4.1.conv2", name: "i"),
  lora(rank: 3, targets: "fc", name: "head")
`,
    );
    const overrides = { size: 32, classes: 10 };
    const plain = buildGraph(file, { overrides, passes: false }).graph;
    const w = `${dir}/a.safetensors`;
    Deno.writeFileSync(w, writeSafetensors(adapterNoise(plain)));
    const image = { image: noise([2, 3, 32, 32], 9, 1) };
    const run = (adapters: "unmerged" | "merged" | "inputs") =>
      runGraph(buildGraph(file, { overrides, weights: [w], adapters }).graph, image).outputs.logits;
    const y = run("unmerged");
    const base = buildGraph(file, { overrides, model: "ResNet18" }).graph;
    assert.ok(maxAbsDiff(y, runGraph(base, image).outputs.logits) > 1e-2);
    assert.ok(maxAbsDiff(y, run("merged")) < 1e-4, `${maxAbsDiff(y, run("merged"))}`);
    assert.ok(maxAbsDiff(y, run("inputs")) < 1e-5);
  }),
);

Deno.test(
  "loading a base checkpoint into a fine-tuned model does not warn about the adapter it lacks",
  withTemp(async (dir) => {
    const base = `${dir}/base.safetensors`;
    const c = await dlm(
      "compile",
      example("gpt2.dlm"),
      "--model",
      "GPT2Tiny",
      "-o",
      `${dir}/b.onnx`,
      "--save-weights",
      base,
    );
    assert.equal(c.code, 0, c.err);
    const r = await dlm(
      "compile",
      GPT2_LORA,
      "--model",
      "GPT2TinyLoRA",
      "--weights",
      base,
      "-o",
      `${dir}/l.onnx`,
    );
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.err, /DLM0404/);
    // A file with part of an adapter still names the adapter parameters it lacks.
    const plain = buildGraph(GPT2_LORA, { model: "GPT2TinyLoRA", passes: false }).graph;
    const half = `${dir}/half.safetensors`;
    Deno.writeFileSync(half, writeSafetensors(adapterNoise(plain).slice(0, 1)));
    const p = await dlm(
      "compile",
      GPT2_LORA,
      "--model",
      "GPT2TinyLoRA",
      "--weights",
      base,
      "--weights",
      half,
      "-o",
      `${dir}/h.onnx`,
    );
    assert.match(
      p.err,
      /DLM0404: 3 parameters not in any of .* keep their initial values: h\.0\.attn\.c_attn\.lora_B/,
    );
  }),
);
