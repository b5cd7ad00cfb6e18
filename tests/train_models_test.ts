/**
 * The attention models train: for the tiny configuration of each, the step
 * model compiles (gradients through attention, layer norm, GELU, embeddings,
 * tied heads, shifted windows) and two steps agree between the reference
 * interpreter and onnxruntime-node, every parameter compared.
 */
import assert from "node:assert/strict";
import { compileTrain } from "../compiler/train/mod.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";

const FILE = new URL("./fixtures/train/attention_models.dlm", import.meta.url).pathname;
const RNN_FILE = new URL("./fixtures/train/rnn_models.dlm", import.meta.url).pathname;

for (const model of ["GPT2Tiny", "BertSmall", "ViTTiny", "SwinTiny", "TransformerTiny"]) {
  Deno.test(`two training steps of ${model} agree between the reference and onnxruntime`, async () => {
    const c = compileTrain(FILE, { model });
    assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
    const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 2 };
    const r = await diffTrain(c.step!, opts);
    assert.equal(r.ok, true, formatTrainDiff(r, opts));
    assert.equal(r.steps.length, 2);
    // Training moved the parameters.
    const trainable = c.step!.params.filter((p) => p.trainable && !p.frozen).length;
    assert.ok(r.steps[0].tensors.filter((t) => t.name.startsWith("next:")).length >= trainable);
    assert.notEqual(r.steps[0].lossReference, r.steps[1].lossReference);
    if (model === "GPT2Tiny" || model === "BertSmall") {
      // Hugging Face's initialisation (N(0, 0.02) embeddings): the untrained model's token loss
      // is about ln(vocab), where N(0, 1) embeddings made it about 20.
      assert.ok(
        Math.abs(r.steps[0].lossReference - Math.log(64)) < 0.3,
        `${r.steps[0].lossReference}`,
      );
    }
  });
}

Deno.test("recurrent models over a symbolic length train once --dim fixes it, and say so until then", async () => {
  const without = compileTrain(RNN_FILE, { model: "RnnClassifier" });
  const d = without.diagnostics.find((x) => x.code === "DLM0417");
  assert.ok(d, JSON.stringify(without.diagnostics));
  assert.match(d.message, /fix it with --dim T=<length>/);
  assert.equal(d.span?.line, 6);
  // Random batches draw labels below 10, so the heads get 10 classes.
  const cases = [
    ["RnnClassifier", { vocab: 20, dim: 8, hidden: 16, classes: 10 }],
    ["BiRnnTagger", { vocab: 20, dim: 8, hidden: 8, tags: 10 }],
  ] as const;
  for (const [model, overrides] of cases) {
    const c = compileTrain(RNN_FILE, { model, dims: { T: 5 }, overrides });
    assert.deepEqual(c.diagnostics.filter((x) => x.severity === "error"), [], model);
    assert.ok(!c.step!.nodes.some((n) => n.op === "RNN"), model);
    const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 2 };
    const r = await diffTrain(c.step!, opts);
    assert.equal(r.ok, true, formatTrainDiff(r, opts));
  }
});
