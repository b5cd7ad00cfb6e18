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
