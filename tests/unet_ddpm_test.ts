/**
 * lang-examples/unet_ddpm_digits.dlm at a tiny size, as a user runs it: the U-Net's
 * noise-prediction error falls below that of predicting zero noise (1.0), the noisy-digit
 * classifier learns, two training steps agree between the runtimes for both, label dropout draws
 * the null class in the step, the samplers' weights load from the two trained files by name,
 * and the full-size configuration of every model compiles.
 */
import assert from "node:assert/strict";
import { readHistory } from "./train_history.ts";
import { main } from "../cli/main.ts";
import { compileFile } from "../compiler/compile.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";
import { readSafetensors } from "../runtime/formats/mod.ts";

const FILE = decodeURIComponent(
  new URL("../lang-examples/unet_ddpm_digits.dlm", import.meta.url).pathname,
);
const TINY = { steps: 8, width: 8, groups: 2, heads: 2 };
const TINY_CLASSIFIER = { steps: 8, width: 8 };
const sets = (o: Record<string, number>) =>
  Object.entries(o).flatMap(([k, v]) => ["--set", `${k}=${v}`]);

/** `dlm train FILE --model M --data digits ...`: history rows and the saved weights' names. */
async function train(model: string, set: Record<string, number>, epochs: number, dir: string) {
  const err: string[] = [];
  const code = await main([
    "train",
    FILE,
    "--model",
    model,
    "--data",
    "digits",
    "--epochs",
    String(epochs),
    ...sets(set),
    "--out",
    `${dir}/${model}`,
    "--save",
    `${dir}/${model}.safetensors`,
  ], { out: () => {}, err: (s) => err.push(s) });
  assert.equal(code, 0, err.join("\n"));
  return readHistory(`${dir}/${model}`);
}

Deno.test("the U-Net DDPM and its noisy classifier train; the samplers load both by name", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_unet_ddpm_test_" });
  try {
    const h = await train("UNetDdpm", TINY, 2, dir);
    // Predicting zero noise scores 1 (eps ~ N(0, 1)); the U-Net learns to do better.
    const loss = h.map((r) => r.loss);
    assert.ok(loss.at(-1)! < loss[0] && loss.at(-1)! < 0.8, JSON.stringify(loss));
    assert.ok(h.at(-1)!.val_loss < 0.8, JSON.stringify(h.map((r) => r.val_loss)));
    // The classifier sees noised digits: at the chain's noisy end no class can be told, so its
    // accuracy rises from chance (0.1) toward well below 1.
    const c = await train("NoisyClassifier", TINY_CLASSIFIER, 12, dir);
    const acc = c.map((r) => r.val_accuracy);
    assert.ok(acc.at(-1)! > acc[0] + 0.1 && acc.at(-1)! > 0.25, JSON.stringify(acc));

    // Both weights files together give every parameter of the classifier-guided sampler, and the
    // sampler runs on them (in onnxruntime, a fixed seed) to images in [0, 1].
    const names = (
      f: string,
    ) => [...readSafetensors(Deno.readFileSync(`${dir}/${f}`), f).tensors.keys()];
    const saved = new Set([
      ...names("UNetDdpm.safetensors"),
      ...names("NoisyClassifier.safetensors"),
    ]);
    const sampler = compileFile(FILE, {
      model: "ClassifierGuidedSampler",
      overrides: { ...TINY, classifier_width: TINY_CLASSIFIER.width },
    });
    assert.deepEqual(sampler.graph!.params.map((p) => p.name).filter((n) => !saved.has(n)), []);
    const out: string[] = [], err: string[] = [];
    const code = await main([
      "run",
      FILE,
      "--model",
      "ClassifierGuidedSampler",
      ...sets({ ...TINY, classifier_width: TINY_CLASSIFIER.width }),
      "--weights",
      `${dir}/UNetDdpm.safetensors`,
      "--weights",
      `${dir}/NoisyClassifier.safetensors`,
      "--dim",
      "N=4",
      "--out",
      `${dir}/samples`,
    ], { out: (s) => out.push(s), err: (s) => err.push(s) });
    assert.equal(code, 0, err.join("\n"));
    assert.deepEqual(err.filter((s) => s.includes("DLM04")), [], "no weight is missing or unused");
    assert.match(out.join("\n"), /image\s+f32\[4, 64\]\s+min [0-9.e-]+\s+max [0-9.e-]+/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("two U-Net DDPM training steps agree between the runtimes; label dropout is in the step", async () => {
  const c = compileTrain(FILE, { overrides: TINY });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  // Label dropout: where(bernoulli draw < p, 10, label), the draw a RandomUniformLike over the label.
  const g = c.step!;
  const by = (name: string) => g.nodes.find((n) => n.outputs.includes(name));
  const swap = g.nodes.find((n) => n.op === "Where" && n.inputs[2] === "label");
  assert.ok(swap, "a Where picks between the null class and the label");
  const cond = by(swap.inputs[0])!, draw = by(cond.inputs[0])!;
  assert.equal(cond.op, "Less");
  assert.equal(draw.op, "RandomUniformLike");
  assert.deepEqual([...g.initializers.get(swap.inputs[1])!.data].map(Number), [10]);
  assert.deepEqual([...g.initializers.get(cond.inputs[1])!.data].map(Number), [Math.fround(0.1)]);
  const ops = new Set(g.nodes.map((n) => n.op));
  for (const op of ["InstanceNormalization", "ConvTranspose", "Concat"]) assert.ok(ops.has(op), op);
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 4 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
});

Deno.test("two noisy-classifier training steps agree between the runtimes", async () => {
  const c = compileTrain(FILE, { model: "NoisyClassifier", overrides: TINY_CLASSIFIER });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 4 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
});

Deno.test("every model of the U-Net DDPM compiles at its full size", () => {
  for (const model of ["UNetDdpm", "GuidedSampler", "NoisyClassifier", "ClassifierGuidedSampler"]) {
    const r = compileFile(FILE, { model });
    assert.deepEqual(r.diagnostics.map((d) => formatDiagnostic(d, r.sources)), [], model);
    const g = r.graph!;
    if (model.endsWith("Sampler")) {
      // 50 steps unrolled: one U-Net application per step (two per step for the classifier's
      // gradient), sharing the parameters of one instance named `unet`.
      assert.ok(g.params.some((p) => p.name === "unet.conv_in.weight"), model);
      assert.equal(g.inputs.map((i) => i.name).join(","), "label,guidance");
    }
  }
});
