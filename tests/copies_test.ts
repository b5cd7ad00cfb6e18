/**
 * Copies of sub-models (`init ref from policy`, spec/language.md 8.5) through the command line:
 * the copy's initial values in the ONNX file and `--save-weights` equal its source's byte for byte;
 * a DPO-style section (tests/fixtures/train/dpo.dlm: a policy and a frozen reference copy, a loss
 * over both) trains the policy and leaves the reference as it started; a resumed run equals the
 * uninterrupted one; `--weights` without the copy's tensors copies them from the loaded source,
 * and with them keeps them; the step agrees between the reference interpreter and onnxruntime;
 * MoCo's key encoder starts as its query encoder.
 */
import assert from "node:assert/strict";
import { buildGraph } from "../cli/pipeline.ts";
import { decodeModel } from "../compiler/onnx/decode.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { compileFile } from "../compiler/compile.ts";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { Rng } from "../compiler/ir/rng.ts";
import { readSafetensors, writeNpy, writeSafetensors } from "../runtime/formats/mod.ts";
import { loadWeights } from "../runtime/weights.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";
import { dlm } from "./cli_testing.ts";

const ROOT = new URL("../", import.meta.url);
const path = (rel: string) => decodeURIComponent(new URL(rel, ROOT).pathname);
const DPO = path("tests/fixtures/train/dpo.dlm");
const MOCO = path("lang-examples/moco.dlm");
const ROLES = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"];

function withTemp(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "dlm_copies_test_" });
    try {
      await fn(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

const bytes = (t: Tensor) => {
  const d = t.data as Float32Array;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
};
const same = (a: Tensor, b: Tensor) => assert.deepEqual(bytes(a), bytes(b));
const differ = (a: Tensor, b: Tensor) => assert.notDeepEqual(bytes(a), bytes(b));
const readWeights = (file: string) => readSafetensors(Deno.readFileSync(file), file).tensors;

/**
 * Preference data: 96 prompts of 16 features; each prefers the response a fixed random map
 * scores highest over the one it scores lowest.
 */
function preferenceData(dir: string): string[] {
  const rng = new Rng(7);
  const n = 96, f = 16, r = 8;
  const prompt = new Float32Array(n * f), map = new Float32Array(f * r);
  rng.fillNormal(prompt, 0, 1);
  rng.fillNormal(map, 0, 1);
  const chosen = new BigInt64Array(n), rejected = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0, worst = 0, hi = -Infinity, lo = Infinity;
    for (let k = 0; k < r; k++) {
      let s = 0;
      for (let j = 0; j < f; j++) s += prompt[i * f + j] * map[j * r + k];
      if (s > hi) [hi, best] = [s, k];
      if (s < lo) [lo, worst] = [s, k];
    }
    chosen[i] = BigInt(best);
    rejected[i] = BigInt(worst);
  }
  const put = (name: string, t: Tensor) => {
    Deno.writeFileSync(`${dir}/${name}.npy`, writeNpy(t));
    return ["--data", `${name}=${dir}/${name}.npy`];
  };
  return [
    ...put("prompt", { dtype: "f32", shape: [n, f], data: prompt }),
    ...put("chosen", { dtype: "i64", shape: [n], data: chosen }),
    ...put("rejected", { dtype: "i64", shape: [n], data: rejected }),
  ];
}

Deno.test(
  "dlm compile writes a copy's initialisers equal to its source's, byte for byte, in the ONNX file and --save-weights",
  withTemp(async (dir) => {
    for (const passes of [[], ["--no-passes"]]) {
      const r = await dlm(
        "compile",
        DPO,
        "-o",
        `${dir}/m.onnx`,
        "--save-weights",
        `${dir}/w.safetensors`,
        ...passes,
      );
      assert.equal(r.code, 0, r.err);
      const init = decodeModel(Deno.readFileSync(`${dir}/m.onnx`)).graph.initializers;
      const saved = readWeights(`${dir}/w.safetensors`);
      for (const role of ROLES) {
        same(init.get(`ref.${role}`)!, init.get(`policy.${role}`)!);
        same(saved.get(`ref.${role}`)!, saved.get(`policy.${role}`)!);
        same(saved.get(`ref.${role}`)!, init.get(`ref.${role}`)!);
      }
    }
    // Another seed draws other values, and the copy follows them.
    assert.equal((await dlm("compile", DPO, "-o", `${dir}/s.onnx`, "--seed", "3")).code, 0);
    const other = decodeModel(Deno.readFileSync(`${dir}/s.onnx`)).graph.initializers;
    const first = decodeModel(Deno.readFileSync(`${dir}/m.onnx`)).graph.initializers;
    differ(other.get("policy.fc1.weight")!, first.get("policy.fc1.weight")!);
    same(other.get("ref.fc1.weight")!, other.get("policy.fc1.weight")!);
  }),
);

Deno.test(
  "a DPO section trains its policy and leaves the frozen reference copy as the policy started",
  withTemp(async (dir) => {
    const data = preferenceData(dir);
    const initial = `${dir}/initial.safetensors`;
    assert.equal(
      (await dlm("compile", DPO, "-o", `${dir}/m.onnx`, "--save-weights", initial)).code,
      0,
    );
    const r = await dlm("train", DPO, ...data, "--epochs", "4", "--save", `${dir}/t.safetensors`);
    assert.equal(r.code, 0, r.err);
    const start = readWeights(initial), end = readWeights(`${dir}/t.safetensors`);
    for (const role of ROLES) {
      same(end.get(`ref.${role}`)!, start.get(`policy.${role}`)!);
      differ(end.get(`policy.${role}`)!, start.get(`policy.${role}`)!);
    }
    // The policy learned the preferences: the loss fell below its starting value log 2.
    const loss = Number(/loss (\d+\.\d+)/.exec(r.err)![1]);
    assert.ok(loss < 0.5, `final loss ${loss}`);
  }),
);

Deno.test(
  "a resumed DPO run equals the uninterrupted one, its reference included, from scratch and from --weights",
  withTemp(async (dir) => {
    const data = preferenceData(dir);
    // A pretrained policy, without the reference's tensors.
    assert.equal(
      (await dlm("train", DPO, ...data, "--seed", "4", "--save", `${dir}/p.st`)).code,
      0,
    );
    const policyOnly = [...readWeights(`${dir}/p.st`)].filter(([k]) => k.startsWith("policy."));
    Deno.writeFileSync(`${dir}/policy.st`, writeSafetensors(policyOnly));
    for (const [k, from] of [[], ["--weights", `${dir}/policy.st`]].entries()) {
      const run = (...more: string[]) => dlm("train", DPO, ...data, ...from, ...more);
      const straight = await run("--epochs", "2", "--save", `${dir}/a${k}.st`);
      assert.equal(straight.code, 0, straight.err);
      const half = await run("--epochs", "1", "--out", `${dir}/run${k}`);
      assert.equal(half.code, 0, half.err);
      const resumed = await run(
        "--epochs",
        "2",
        "--resume",
        `${dir}/run${k}/checkpoint.safetensors`,
        "--save",
        `${dir}/b${k}.st`,
      );
      assert.equal(resumed.code, 0, resumed.err);
      const a = readWeights(`${dir}/a${k}.st`), b = readWeights(`${dir}/b${k}.st`);
      assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
      for (const [name, t] of a) same(t, b.get(name)!);
      if (from.length) {
        for (const [name, t] of policyOnly) same(b.get(name.replace("policy.", "ref."))!, t);
      }
    }
  }),
);

Deno.test(
  "--weights without the copy's tensors copies them from the loaded source; with them, the file's win",
  withTemp(async (dir) => {
    const data = preferenceData(dir);
    // A pretrained policy: the weights of a short run, without the reference's tensors.
    assert.equal((await dlm("train", DPO, ...data, "--save", `${dir}/run.st`)).code, 0);
    const run = readWeights(`${dir}/run.st`);
    const policyOnly = [...run].filter(([k]) => k.startsWith("policy."));
    Deno.writeFileSync(`${dir}/policy.st`, writeSafetensors(policyOnly));
    const g = buildGraph(DPO, { passes: false }).graph;
    const report = loadWeights(g, `${dir}/policy.st`);
    assert.deepEqual(report.warnings, [], "a copy filled from its source is not missing");
    for (const role of ROLES) same(g.initializers.get(`ref.${role}`)!, run.get(`policy.${role}`)!);
    // Fine-tuning from it: the reference is the pretrained policy, and stays so.
    const tuned = await dlm(
      "train",
      DPO,
      ...data,
      "--weights",
      `${dir}/policy.st`,
      "--save",
      `${dir}/tuned.st`,
    );
    assert.equal(tuned.code, 0, tuned.err);
    assert.doesNotMatch(tuned.err, /DLM0404/);
    const t = readWeights(`${dir}/tuned.st`);
    for (const role of ROLES) {
      same(t.get(`ref.${role}`)!, run.get(`policy.${role}`)!);
      differ(t.get(`policy.${role}`)!, run.get(`policy.${role}`)!);
    }
    // A file that has the reference's tensors (a saved run whose reference differs): they win.
    const withRef = [...run].map(([k, v]): [string, Tensor] =>
      k.startsWith("ref.")
        ? [k, { ...v, data: (v.data as Float32Array).map((x) => x + 1) }]
        : [k, v]
    );
    Deno.writeFileSync(`${dir}/both.st`, writeSafetensors(withRef));
    const h = buildGraph(DPO, { passes: false }).graph;
    loadWeights(h, `${dir}/both.st`);
    for (const role of ROLES) {
      same(h.initializers.get(`ref.${role}`)!, new Map(withRef).get(`ref.${role}`)!);
      differ(h.initializers.get(`ref.${role}`)!, h.initializers.get(`policy.${role}`)!);
    }
    const kept = await dlm(
      "train",
      DPO,
      ...data,
      "--weights",
      `${dir}/both.st`,
      "--save",
      `${dir}/kept.st`,
    );
    assert.equal(kept.code, 0, kept.err);
    const k = readWeights(`${dir}/kept.st`);
    for (const role of ROLES) same(k.get(`ref.${role}`)!, new Map(withRef).get(`ref.${role}`)!);
  }),
);

Deno.test(
  "a trainable copy trains from its source's values, and a packed step loads it from its source too",
  withTemp(async (dir) => {
    // The DPO program with the reference left trainable: both towers are packed state.
    const src = Deno.readTextFileSync(DPO).replace("  freeze ref\n", "");
    const file = `${dir}/twin.dlm`;
    Deno.writeFileSync(file, new TextEncoder().encode(src));
    const data = preferenceData(dir);
    const c = compileTrain(file, { pack: true });
    assert.ok(c.step?.packs?.length, "the step packs its parameters");
    const g = buildGraph(file, { passes: false }).graph;
    const policy = new Map(ROLES.map((r): [string, Tensor] => {
      const t = g.initializers.get(`policy.${r}`)!;
      return [`policy.${r}`, { ...t, data: new Float32Array(t.data.length).fill(0.25) }];
    }));
    Deno.writeFileSync(`${dir}/p.st`, writeSafetensors([...policy]));
    const r = await dlm(
      "train",
      file,
      ...data,
      "--epochs",
      "0",
      "--weights",
      `${dir}/p.st`,
      "--save",
      `${dir}/zero.st`,
    );
    assert.equal(r.code, 0, r.err);
    const z = readWeights(`${dir}/zero.st`);
    for (const role of ROLES) same(z.get(`ref.${role}`)!, policy.get(`policy.${role}`)!);
    // Trained, the two towers part: the copy was a starting point, not a tie.
    const t = await dlm("train", file, ...data, "--save", `${dir}/t.st`);
    assert.equal(t.code, 0, t.err);
    const w = readWeights(`${dir}/t.st`);
    differ(w.get("ref.fc1.weight")!, w.get("policy.fc1.weight")!);
  }),
);

Deno.test("a DPO step with its frozen copy agrees between the reference interpreter and onnxruntime", async () => {
  const c = compileTrain(DPO);
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 8 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
});

Deno.test("moco.dlm's key encoder starts as a copy of its query encoder, in the model and in its step", () => {
  const g = buildGraph(MOCO, { passes: false }).graph;
  const c = compileTrain(MOCO);
  assert.deepEqual(c.diagnostics, []);
  for (const role of ROLES) {
    same(g.initializers.get(`key.${role}`)!, g.initializers.get(`query.${role}`)!);
    assert.equal(g.params.find((p) => p.name === `key.${role}`)!.copyOf, `query.${role}`);
    same(c.step!.initializers.get(`key.${role}`)!, g.initializers.get(`query.${role}`)!);
  }
});

Deno.test(
  "a fine-tuned model's adapter file holds only the method's parameters, and its copy comes from the loaded base",
  withTemp(async (dir) => {
    const file = `${dir}/tuned.dlm`;
    Deno.writeFileSync(
      file,
      new TextEncoder().encode(
        `import "${DPO}"\nmodel Tuned = Dpo with lora(rank: 2, targets: "policy.*")\n`,
      ),
    );
    const base = buildGraph(DPO, { passes: false, seed: 5 }).graph;
    const policy = ROLES.map((
      r,
    ): [string, Tensor] => [`policy.${r}`, base.initializers.get(`policy.${r}`)!]);
    Deno.writeFileSync(`${dir}/policy.st`, writeSafetensors(policy));
    const r = await dlm(
      "compile",
      file,
      "--model",
      "Tuned",
      "--weights",
      `${dir}/policy.st`,
      "-o",
      `${dir}/t.onnx`,
      "--save-weights",
      `${dir}/all.st`,
      "--save-adapter",
      `${dir}/adapter.st`,
    );
    assert.equal(r.code, 0, r.err);
    const adapter = readWeights(`${dir}/adapter.st`);
    assert.ok(adapter.size > 0);
    assert.ok([...adapter.keys()].every((k) => k.startsWith("policy.") && k.includes(".lora_")));
    const all = readWeights(`${dir}/all.st`);
    for (const [k, t] of policy) same(all.get(k.replace("policy.", "ref."))!, t);
  }),
);

Deno.test("a copy in a train section applies to the step and evaluation models, not to the model itself", () => {
  const src = `
model M {
  input x: f32[N, 4]
  output y = (x |> a: linear(4)) + (x |> b: linear(4))
}
train M {
  init b from a
  freeze b
  loss = reduce_mean(y)
  optimizer = sgd(lr: 0.1)
}`;
  const c = compileTrain("m.dlm", { read: () => src });
  assert.deepEqual(c.diagnostics, []);
  same(c.step!.initializers.get("b.weight")!, c.step!.initializers.get("a.weight")!);
  assert.equal(c.eval!.params.find((p) => p.name === "b.weight")!.copyOf, "a.weight");
  const g = compileFile("m.dlm", { read: () => src }).graph!;
  differ(g.initializers.get("b.weight")!, g.initializers.get("a.weight")!);
});

Deno.test("dlm params marks each copy and its source, in the table and in --json", async () => {
  const table = await dlm("params", DPO);
  assert.equal(table.code, 0, table.err);
  assert.match(
    table.out,
    /^ref\.fc1\.weight +weight \(frozen, copy of policy\.fc1\.weight\) +\[32, 16\]/m,
  );
  assert.match(table.out, /^policy\.fc1\.weight +weight +\[32, 16\]/m);
  const json = JSON.parse((await dlm("params", DPO, "--json")).out);
  const row = (n: string) => json.params.find((p: { name: string }) => p.name === n);
  assert.equal(row("ref.fc2.bias").copy_of, "policy.fc2.bias");
  assert.equal(row("policy.fc2.bias").copy_of, undefined);
});

Deno.test(
  "loading weights settles a chain of copies from its first source, whatever the order of definition",
  withTemp((dir) => {
    const src = `
model M {
  input x: f32[N, 4]
  init c from b
  init b from a
  output y = (x |> c: linear(4)) + (x |> b: linear(4)) + (x |> a: linear(4))
}`;
    const a: [string, Tensor][] = [
      ["a.weight", { dtype: "f32", shape: [4, 4], data: new Float32Array(16).fill(0.5) }],
      ["a.bias", { dtype: "f32", shape: [4], data: new Float32Array(4).fill(-1) }],
    ];
    Deno.writeFileSync(`${dir}/a.st`, writeSafetensors(a));
    const g = compileFile("m.dlm", { read: () => src }).graph!;
    assert.deepEqual(loadWeights(g, `${dir}/a.st`).warnings, []);
    for (const [name, t] of a) {
      same(g.initializers.get(name.replace("a.", "b."))!, t);
      same(g.initializers.get(name.replace("a.", "c."))!, t);
    }
    // A file with b's own tensors: c follows b, not a.
    const b: [string, Tensor][] = a.map(([n, t]) => [n.replace("a.", "b."), {
      ...t,
      data: (t.data as Float32Array).map((v) => v * 3),
    }]);
    Deno.writeFileSync(`${dir}/b.st`, writeSafetensors(b));
    const h = compileFile("m.dlm", { read: () => src }).graph!;
    loadWeights(h, [`${dir}/a.st`, `${dir}/b.st`]);
    for (const [name, t] of b) same(h.initializers.get(name.replace("b.", "c."))!, t);
  }),
);
