/**
 * The generative examples train on the digits set as a user runs them:
 * the VAE's negative ELBO falls and its KL term stays active (no posterior
 * collapse), its evaluation model is deterministic (z = mu); the sparse
 * autoencoder's code activations fall toward their target rho; the DDPM's
 * noise-prediction error falls well below that of predicting zero (1.0);
 * SimCLR's label-free features come to separate the classes.
 */
import assert from "node:assert/strict";
import { readHistory } from "./train_history.ts";
import { main } from "../cli/main.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { tensor } from "../compiler/ir/tensor.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";

const example = (name: string) =>
  decodeURIComponent(new URL(`../lang-examples/${name}`, import.meta.url).pathname);

/** `dlm train FILE --data digits ...`: the per-epoch rows of history.csv by column name. */
async function train(file: string, epochs: number): Promise<Record<string, number>[]> {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_ae_test_" });
  try {
    const err: string[] = [];
    const code = await main(
      ["train", file, "--data", "digits", "--epochs", String(epochs), "--out", dir],
      { out: () => {}, err: (s) => err.push(s) },
    );
    assert.equal(code, 0, err.join("\n"));
    return readHistory(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("the VAE trains: the negative ELBO falls and the KL term stays active", async () => {
  const h = await train(example("vae_digits.dlm"), 8);
  assert.ok(h.at(-1)!.loss < h[0].loss - 5, JSON.stringify(h.map((r) => r.loss)));
  assert.ok(h.at(-1)!.kl_loss > 0.5, `KL ${h.at(-1)!.kl_loss}: the posterior collapsed`);
  assert.ok(h.at(-1)!.val_loss < h[0].val_loss);
});

Deno.test("the VAE samples in train mode only; two steps agree between the runtimes", async () => {
  const c = compileTrain(example("vae_digits.dlm"));
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  assert.ok(c.step!.nodes.some((n) => n.op === "RandomNormalLike"));
  assert.ok(!c.eval!.nodes.some((n) => n.op.startsWith("Random")), "eval uses z = mu");
  const feeds: Record<string, ReturnType<typeof tensor>> = {
    image: tensor("f32", [2, 64], Array.from({ length: 128 }, (_, i) => (i % 17) / 16)),
  };
  for (const i of c.eval!.inputs) {
    if (!feeds[i.name]) feeds[i.name] = c.eval!.initializers.get(i.name)!;
  }
  const a = runGraph(c.eval!, feeds).outputs, b = runGraph(c.eval!, feeds).outputs;
  assert.deepEqual(a.loss.data, b.loss.data);
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 4 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
});

Deno.test("the sparse autoencoder's code activations fall toward rho", async () => {
  const h = await train(example("sparse_autoencoder_digits.dlm"), 10);
  assert.ok(h.at(-1)!.recon_loss < h[0].recon_loss / 2, JSON.stringify(h.map((r) => r.recon_loss)));
  assert.ok(
    h[0].mean_activation > 0.15 && h.at(-1)!.mean_activation < 0.12,
    JSON.stringify(h.map((r) => r.mean_activation)),
  );
});

Deno.test("the DDPM learns to predict the noise it added", async () => {
  const h = await train(example("ddpm_digits.dlm"), 6);
  // Predicting zero noise scores 1 (eps ~ N(0, 1)); learning brings it well below.
  assert.ok(h[0].loss > 0.8 && h.at(-1)!.loss < 0.75, JSON.stringify(h.map((r) => r.loss)));
  assert.ok(h.at(-1)!.val_loss < 0.8, JSON.stringify(h.map((r) => r.val_loss)));
});

Deno.test("SimCLR's features, learnt without labels, come to separate the digit classes", async () => {
  const h = await train(example("simclr_digits.dlm"), 10);
  assert.ok(h.at(-1)!.loss < h[0].loss, JSON.stringify(h.map((r) => r.loss)));
  // A nearest-class-mean readout of the features (the labels measure, the loss never sees them).
  const acc = h.map((r) => r.val_probe_accuracy);
  assert.ok(acc.at(-1)! > acc[0] + 0.15 && acc.at(-1)! > 0.6, JSON.stringify(acc));
});

Deno.test("NT-Xent over a symbolic batch differentiates (Concat of N rows); two steps agree", async () => {
  const c = compileTrain(example("simclr_digits.dlm"));
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  assert.equal(c.step!.inputs.find((i) => i.name === "image")!.type.shape[0], "N");
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 6 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
});
