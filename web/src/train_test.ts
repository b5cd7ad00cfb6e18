import assert from "node:assert/strict";
import { exampleFiles, packDigits } from "../build.ts";
import { decodeDigits, encodeDigits } from "./digits.ts";
import { inferenceModel, prepare, softmax, TrainSession, weightsFile } from "./train.ts";
import { workspaceReader } from "./service.ts";
import { DIGITS_PATH, loadDigits } from "../../runtime/data/mod.ts";
import { Dataset } from "../../runtime/data/mod.ts";
import { openRunner } from "../../runtime/train/runner.ts";
import { train } from "../../runtime/train/loop.ts";
import { readNpy, writeNpy } from "../../runtime/formats/npy.ts";
import { readSafetensors } from "../../runtime/formats/safetensors.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { toNumbers } from "../../compiler/ir/tensor.ts";
import { dlm } from "../../tests/cli_testing.ts";
import { drawSamples } from "./samples.ts";
import { SAMPLERS } from "./sampler_specs.ts";

const files = exampleFiles();
const LENET = "lenet_digits.dlm";
const read = workspaceReader(files, LENET, files[LENET]);
const digits = decodeDigits(encodeDigits(Deno.readTextFileSync(DIGITS_PATH)));

Deno.test("digits.bin decodes to the tensors dlm train reads from digits.csv", () => {
  const want = loadDigits();
  assert.deepEqual(digits.image.shape, [1797, 64]);
  assert.deepEqual(digits.image.data, want.image.data);
  assert.deepEqual(digits.label.data, want.label.data);
  assert.throws(() => encodeDigits("1,2,3\n"), /line 1/);
  assert.throws(() => decodeDigits(new Uint8Array(64)), /64 bytes/);
});

// A small slice of the set keeps the reference interpreter quick; the split and the batches
// (with a smaller last one) are what dlm train makes of it.
const small = new Dataset(digits).take([...Array(100).keys()]);

Deno.test("the page's loop trains as runtime/train's loop: same losses, metrics and weights", async () => {
  const prep = prepare(LENET, read, digits, { seed: 3, perRun: 4 });
  assert.equal(prep.step.multiStep, true);
  const opts = { epochs: 2, batchSize: 16, seed: 3, valSplit: 0.2, perRun: 4 };
  const open = (m: Parameters<typeof openRunner>[0]) => openRunner(m, "reference");
  const s = new TrainSession(prep, small, opts, open);
  // Stopped after its second run and resumed: the run is the uninterrupted one.
  let runs = 0;
  assert.equal(await s.advance(() => runs >= 2, () => runs++), "stopped");
  assert.equal(s.steps, 5); // 80 samples: a run of 4 batches, then the epoch's fifth
  assert.equal(await s.advance(() => false), "done");
  await s.release();
  const { train: t, val } = small.split(0.2, { seed: 3 });
  const want = await train({
    step: prep.step,
    eval: prep.eval,
    data: t,
    val,
    epochs: 2,
    batchSize: 16,
    seed: 3,
    backend: "reference",
    stepsPerRun: 4,
  });
  assert.deepEqual(s.losses, want.losses);
  assert.deepEqual(s.history.map((h) => h.values), want.history.map((h) => h.values));
  assert.ok("val_accuracy" in s.history[0].values);
  const w = s.weights();
  for (const [k, v] of want.weights) assert.deepEqual([...w.get(k)!.data], [...v.data], k);
});

Deno.test("trained weights: safetensors that dlm run --weights reads, giving the page's logits", async () => {
  const prep = prepare(LENET, read, digits, { seed: 0, perRun: 8 });
  const open = (m: Parameters<typeof openRunner>[0]) => openRunner(m, "node");
  const s = new TrainSession(prep, new Dataset(digits), {
    epochs: 1,
    batchSize: 16,
    seed: 0,
    valSplit: 0.2,
  }, open);
  await s.advance(() => false);
  await s.release();
  const bytes = weightsFile(s.weights());
  const names = [...readSafetensors(bytes).tensors.keys()];
  assert.deepEqual(names.sort(), prep.params.slice().sort());
  // The page's classifier: the inference model with these weights, on 5 images.
  const { graph } = inferenceModel(LENET, read, bytes);
  const image = { dtype: "f32" as const, shape: [5, 64], data: digits.image.data.slice(0, 320) };
  const page = toNumbers(runGraph(graph, { image }).outputs.logits);
  const dir = await Deno.makeTempDir({ prefix: "dlm_web_train_" });
  try {
    Deno.writeFileSync(`${dir}/w.safetensors`, bytes);
    Deno.writeFileSync(`${dir}/image.npy`, writeNpy(image));
    const r = await dlm(
      "run",
      `lang-examples/${LENET}`,
      "--weights",
      `${dir}/w.safetensors`,
      "--input",
      `image=${dir}/image.npy`,
      "--out",
      `${dir}/out`,
    );
    assert.equal(r.code, 0, r.err);
    const cli = toNumbers(readNpy(Deno.readFileSync(`${dir}/out/logits.npy`)));
    assert.equal(cli.length, page.length);
    cli.forEach((v, i) =>
      assert.ok(Math.abs(v - page[i]) < 1e-4, `logit ${i}: ${v} vs ${page[i]}`)
    );
    // One epoch already classifies most of them: the weights are trained ones.
    const labels = toNumbers(digits.label).slice(0, 5);
    const right = labels.filter((l, i) => {
      const row = cli.slice(i * 10, i * 10 + 10);
      return row.indexOf(Math.max(...row)) === l;
    }).length;
    assert.ok(right >= 4, `${right}/5 right after one epoch`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inferenceModel loads as dlm run --weights: DLM0403 for a misshapen tensor, DLM0404 for a missing one", () => {
  const bad = weightsFile(new Map([["conv1.weight", digits.image]]));
  assert.throws(
    () => inferenceModel(LENET, read, bad, undefined, "the uploaded w.safetensors"),
    /DLM0403|Weight 'conv1.weight' in the uploaded w.safetensors/,
  );
  const { warnings } = inferenceModel(LENET, read, weightsFile(new Map()));
  assert.deepEqual(warnings.map((w) => w.code), ["DLM0404"]);
  assert.match(warnings[0].message, /10 parameters/);
  assert.throws(
    () => inferenceModel(LENET, read, new Uint8Array([1, 2, 3]), undefined, "junk"),
    /junk/,
  );
});

Deno.test("softmax sums to one and keeps the order", () => {
  const p = softmax([1, 3, 2]);
  assert.ok(Math.abs(p.reduce((a, b) => a + b) - 1) < 1e-12);
  assert.ok(p[1] > p[2] && p[2] > p[0]);
});

Deno.test("samples: the VAE's decoder with page-trained weights draws dlm sample's samples", async () => {
  const vae = SAMPLERS.find((s) => s.file === "vae_digits.dlm")!;
  const vread = workspaceReader(files, vae.file, files[vae.file]);
  const prep = prepare(vae.file, vread, { image: digits.image }, { seed: 0 });
  const open = (m: Parameters<typeof openRunner>[0]) => openRunner(m, "node");
  const s = new TrainSession(prep, new Dataset({ image: digits.image }), {
    epochs: 1,
    batchSize: 32,
    seed: 0,
    valSplit: 0.2,
  }, open);
  await s.advance(() => false);
  await s.release();
  const w = weightsFile(s.weights());
  const got = await drawSamples(vae, vread, w, 5, open);
  assert.deepEqual(got.output.shape, [64, 64]);
  assert.deepEqual(got.range, [0, 1]);
  assert.deepEqual([got.grid.width, got.grid.height], [8 * 9 + 1, 8 * 9 + 1]);
  const dir = await Deno.makeTempDir({ prefix: "dlm_web_samples_" });
  try {
    Deno.writeFileSync(`${dir}/vae.safetensors`, w);
    const r = await dlm(
      "sample",
      `lang-examples/${vae.file}`,
      "--model",
      vae.sampler,
      "--weights",
      `${dir}/vae.safetensors`,
      "--n",
      String(vae.n),
      "--seed",
      "5",
      "-o",
      `${dir}/s.png`,
      "--npy",
      `${dir}/s.npy`,
    );
    assert.equal(r.code, 0, r.err);
    const cli = readNpy(Deno.readFileSync(`${dir}/s.npy`));
    assert.deepEqual(cli.shape, got.output.shape);
    const a = cli.data as Float32Array, b = got.output.data as Float32Array;
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5, `value ${i}: ${v} vs ${b[i]}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("samples: the CGAN's sampler draws 100 samples, 10 a row", async () => {
  const cgan = SAMPLERS.find((s) => s.file === "cgan_digits.dlm")!;
  const cread = workspaceReader(files, cgan.file, files[cgan.file]);
  const prep = prepare(cgan.file, cread, digits, { seed: 0, perRun: 1 });
  // The initial weights are enough for the shapes: 100 samples, 10 a row.
  const s = new TrainSession(
    prep,
    new Dataset(digits),
    { epochs: 0, batchSize: 32, seed: 0 },
    (m) => openRunner(m, "reference"),
  );
  const got = await drawSamples(
    cgan,
    cread,
    weightsFile(s.weights()),
    0,
    (m) => openRunner(m, "node"),
  );
  assert.deepEqual(got.output.shape, [100, 64]);
  assert.deepEqual([got.grid.width, got.grid.height], [10 * 9 + 1, 10 * 9 + 1]);
});

Deno.test("the build packs the digits, and fails naming the file when it is missing", () => {
  assert.deepEqual(packDigits(), encodeDigits(Deno.readTextFileSync(DIGITS_PATH)));
  assert.throws(
    () => packDigits("/nonexistent/digits.csv"),
    /training set \/nonexistent\/digits\.csv cannot be read/,
  );
  const bad = Deno.makeTempFileSync({ suffix: ".csv" });
  try {
    Deno.writeTextFileSync(bad, "1,2,3\n");
    assert.throws(() => packDigits(bad), /line 1: not 64 pixels/);
  } finally {
    Deno.removeSync(bad);
  }
});
