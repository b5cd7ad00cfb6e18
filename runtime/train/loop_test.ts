import assert from "node:assert/strict";
import { DlmError } from "../../compiler/diagnostics.ts";
import { toNumbers } from "../../compiler/ir/tensor.ts";
import { emitModel } from "../../compiler/onnx/emit.ts";
import { Dataset, loadDigits } from "../data/mod.ts";
import { loadCheckpoint, train } from "./mod.ts";
import { regressionEval, regressionInit, regressionStep } from "./testing.ts";

const C = { features: 64, classes: 10, lr: 0.5, momentum: 0.9 };
const ALL = new Dataset(loadDigits());
const { train: TRAIN, val: VAL } = ALL.split(0.2, { seed: 0, stratify: "label" });
const base = () => ({
  step: regressionStep(C),
  eval: regressionEval(C),
  data: TRAIN,
  val: VAL,
  batchSize: 64,
  initial: regressionInit(C),
  backend: "reference" as const,
});

Deno.test("training softmax regression on the digits lowers the loss and passes 90% validation accuracy", async () => {
  const r = await train({ ...base(), epochs: 3 });
  const h = r.history;
  assert.equal(h.length, 3);
  assert.ok(h[2].values.loss < h[0].values.loss);
  assert.ok(h[2].values.val_accuracy > 0.9, `val_accuracy ${h[2].values.val_accuracy}`);
  assert.equal(h[2].step, 3 * TRAIN.batchCount(64));
  assert.deepEqual([...r.weights.keys()].sort(), ["fc.bias", "fc.weight"]);
  assert.equal(r.state.get("step")!.dtype, "i64");
});

Deno.test("the same seed gives bit-identical losses on the reference backend", async () => {
  const a = await train({ ...base(), epochs: 1, seed: 5 });
  const b = await train({ ...base(), epochs: 1, seed: 5 });
  assert.deepEqual(a.losses, b.losses);
});

Deno.test("onnxruntime-node and the reference give the same first losses within 1e-5", async () => {
  const bytes = emitModel(regressionStep(C)).model;
  const ref = await train({ ...base(), eval: undefined, val: undefined, step: bytes, epochs: 1 });
  const ort = await train({
    ...base(),
    eval: undefined,
    val: undefined,
    step: bytes,
    epochs: 1,
    backend: "node",
  });
  for (let i = 0; i < 10; i++) {
    assert.ok(Math.abs(ref.losses[i] - ort.losses[i]) < 1e-5, `step ${i}`);
  }
});

Deno.test("resuming from a checkpoint continues exactly as the uninterrupted run", async () => {
  const dir = Deno.makeTempDirSync();
  const full = await train({ ...base(), epochs: 3, seed: 2 });
  await train({ ...base(), epochs: 2, seed: 2, outDir: dir });
  const ck = loadCheckpoint(`${dir}/checkpoint.safetensors`);
  assert.equal(ck.epoch, 2);
  const resumed = await train({ ...base(), epochs: 3, resume: `${dir}/checkpoint.safetensors` });
  assert.deepEqual(resumed.losses, full.losses);
  assert.deepEqual(
    toNumbers(resumed.state.get("fc.weight")!),
    toNumbers(full.state.get("fc.weight")!),
  );
});

Deno.test("early stopping stops after `patience` epochs without improvement", async () => {
  // With val_loss monitored in "max" mode, every epoch after the first is no improvement.
  const r = await train({
    ...base(),
    epochs: 10,
    earlyStopping: { monitor: "val_loss", mode: "max", patience: 2 },
  });
  assert.equal(r.epochs, 3);
  assert.ok(r.stoppedEarly);
});

Deno.test("the curves are written as CSV and a standalone SVG, with no temporary files left", async () => {
  const dir = Deno.makeTempDirSync();
  const r = await train({ ...base(), epochs: 2, outDir: dir });
  const csv = Deno.readTextFileSync(`${dir}/history.csv`).trim().split("\n");
  assert.equal(csv[0], "epoch,step,loss,val_loss,accuracy,val_accuracy,seconds");
  assert.equal(csv.length, 3);
  const svg = Deno.readTextFileSync(`${dir}/history.svg`);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<polyline/);
  assert.deepEqual(
    [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
    ["checkpoint.safetensors", "history.csv", "history.svg"],
  );
  assert.equal(r.files.length, 3);
});

Deno.test("data that lacks a model input, or state without a value, is a diagnostic", async () => {
  const noLabel = new Dataset({ image: TRAIN.arrays.image });
  await assert.rejects(
    () => train({ ...base(), data: noLabel, val: undefined, eval: undefined }),
    (e: DlmError) => e.diagnostics[0].code === "DLM0423" && /'label'/.test(e.message),
  );
  await assert.rejects(
    () => train({ ...base(), initial: undefined }),
    (e: DlmError) => e.diagnostics[0].code === "DLM0416" && /'fc.weight'/.test(e.message),
  );
});

Deno.test("without validation data the evaluation model is never loaded (nor emitted)", async () => {
  // A path that does not exist: loading it would be DLM0401.
  const missing = "/nonexistent/dlm/eval.onnx";
  const r = await train({ ...base(), eval: missing, val: undefined, epochs: 1 });
  assert.equal(r.history.length, 1);
  assert.equal(r.history[0].values.val_accuracy, undefined);
  await assert.rejects(
    () => train({ ...base(), eval: missing, epochs: 1 }),
    (e: unknown) => e instanceof DlmError && e.diagnostics[0].code === "DLM0401",
  );
});

Deno.test("maxSteps stops a run within an epoch and evaluates where it stopped", async () => {
  const per = TRAIN.batchCount(64);
  const r = await train({ ...base(), epochs: 5, maxSteps: per + 3 });
  assert.equal(r.losses.length, per + 3);
  assert.equal(r.history.length, 2);
  assert.equal(r.history[1].step, per + 3);
  assert.ok(r.history[1].values.val_loss > 0);
  assert.equal(r.stoppedEarly, false);
  // The same steps as the unlimited run's first ones.
  const full = await train({ ...base(), epochs: 2 });
  assert.deepEqual(r.losses, full.losses.slice(0, per + 3));
});
