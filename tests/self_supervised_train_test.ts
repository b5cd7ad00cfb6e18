/**
 * The pretext-task and conditional-generation examples train on the digits
 * set as a user runs them (`dlm train`, then `dlm probe` or `dlm sample`),
 * at a few epochs each:
 * - the siamese network's and the denoising autoencoder's features, read out by
 *   the nearest class mean, beat a randomly initialised encoder's;
 * - the denoising autoencoder reconstructs held-out images better than every
 *   pixel's batch mean;
 * - rotation prediction learns its task (its features are reported by the probe
 *   too; at this size they do not beat a random encoder: README says so);
 * - the conditional GAN draws the digit it is asked for: a classifier trained
 *   here agrees with the requested class far above chance;
 * and two training steps of each agree between the reference interpreter and
 * onnxruntime (`dlm diff --train 2`).
 */
import assert from "node:assert/strict";
import { readHistory } from "./train_history.ts";
import { main } from "../cli/main.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { readNpy } from "../runtime/formats/mod.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";

const example = (name: string) =>
  decodeURIComponent(new URL(`../lang-examples/${name}`, import.meta.url).pathname);

/** Run the CLI in-process; fails the test on a non-zero exit. Returns stdout. */
async function dlm(...argv: string[]): Promise<string> {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  assert.equal(code, 0, `dlm ${argv.join(" ")}\n${err.join("\n")}`);
  return out.join("\n");
}

/** `dlm train FILE --data digits --epochs E --save DIR/w.safetensors`: history rows and weights. */
async function train(
  dir: string,
  file: string,
  epochs: number,
  extra: string[] = [],
): Promise<{ history: Record<string, number>[]; weights: string }> {
  const weights = `${dir}/${file.replace(/.*\//, "").replace(".dlm", "")}.safetensors`;
  await dlm(
    "train",
    example(file),
    "--data",
    "digits",
    "--epochs",
    String(epochs),
    "--out",
    dir,
    "--save",
    weights,
    ...extra,
  );
  return { history: readHistory(dir), weights };
}

/** `dlm probe`'s two accuracies: the trained weights' and the random encoder's. */
async function probe(file: string, weights: string, output: string) {
  const out = await dlm("probe", example(file), "--weights", weights, "--output", output);
  const num = (re: RegExp) => Number(re.exec(out)![1]);
  return {
    trained: num(/trained weights\s+([0-9.]+)/),
    random: num(/random encoder \(init\)\s+([0-9.]+)/),
    out,
  };
}

function withTemp(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "dlm_ssl_test_" });
    try {
      await fn(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

/** Two training steps on both runtimes agree (what `dlm diff --train 2` checks). */
async function twoStepsAgree(file: string, batchSize = 6): Promise<void> {
  const c = compileTrain(example(file));
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
}

Deno.test(
  "the siamese network's features separate the classes better than a random encoder's",
  withTemp(async (dir) => {
    const { history: h, weights } = await train(dir, "siamese_digits.dlm", 5);
    assert.ok(h.at(-1)!.loss < h[0].loss, JSON.stringify(h.map((r) => r.loss)));
    assert.ok(h.at(-1)!.val_pair_accuracy > 0.9, JSON.stringify(h.map((r) => r.val_pair_accuracy)));
    const p = await probe("siamese_digits.dlm", weights, "features_out");
    assert.ok(p.trained > p.random + 0.05 && p.trained > 0.9, p.out);
  }),
);

Deno.test(
  "the denoising autoencoder reconstructs held-out digits and its code beats a random encoder's",
  withTemp(async (dir) => {
    const { history: h, weights } = await train(dir, "denoising_autoencoder_digits.dlm", 8);
    const last = h.at(-1)!;
    assert.ok(last.val_recon_error < last.val_mean_baseline / 2, JSON.stringify(last));
    const p = await probe("denoising_autoencoder_digits.dlm", weights, "code");
    assert.ok(p.trained > p.random + 0.05, p.out);
    // Its reconstructions, beside their inputs, through dlm sample.
    const png = `${dir}/dae.png`;
    const out = await dlm(
      "sample",
      example("denoising_autoencoder_digits.dlm"),
      "--model",
      "Denoiser",
      "--weights",
      weights,
      "--input",
      "image=digits:0-63",
      "--n",
      "4",
      "-o",
      png,
    );
    assert.match(out, /4 of 'denoised'.*beside each its input 'image'/);
    assert.ok(Deno.statSync(png).size > 0);
  }),
);

Deno.test(
  "rotation prediction learns which quarter turn it sees; the probe reports its features",
  withTemp(async (dir) => {
    const { history: h, weights } = await train(dir, "rotation_digits.dlm", 6);
    const acc = h.map((r) => r.val_rotation_accuracy);
    // Chance is 0.25.
    assert.ok(acc.at(-1)! > 0.85, JSON.stringify(acc));
    const p = await probe("rotation_digits.dlm", weights, "features_out");
    assert.ok(p.trained > 0.6 && p.random > 0.6, p.out);
  }),
);

Deno.test(
  "the conditional GAN draws the requested digit: a classifier agrees far above chance",
  withTemp(async (dir) => {
    const classifier = await train(`${dir}`, "mlp_digits.dlm", 20);
    assert.ok(classifier.history.at(-1)!.val_accuracy > 0.9);
    const gan = Deno.makeTempDirSync({ dir, prefix: "gan" });
    const { weights } = await train(gan, "cgan_digits.dlm", 10);
    const npy = `${dir}/samples.npy`;
    await dlm(
      "sample",
      example("cgan_digits.dlm"),
      "--model",
      "CganSampler",
      "--weights",
      weights,
      "--n",
      "200",
      "--set",
      "label=0,1,2,3,4,5,6,7,8,9",
      "-o",
      `${dir}/cgan.png`,
      "--npy",
      npy,
    );
    assert.deepEqual(readNpy(Deno.readFileSync(npy)).shape, [200, 64]);
    await dlm(
      "run",
      example("mlp_digits.dlm"),
      "--weights",
      classifier.weights,
      "--input",
      `image=${npy}`,
      "--out",
      dir,
    );
    const logits = readNpy(Deno.readFileSync(`${dir}/logits.npy`));
    const l = logits.data as Float32Array;
    let agree = 0;
    for (let i = 0; i < 200; i++) {
      const row = Array.from(l.subarray(i * 10, i * 10 + 10));
      if (row.indexOf(Math.max(...row)) === i % 10) agree++;
    }
    // Chance is 0.1.
    assert.ok(agree / 200 > 0.5, `the classifier agrees with the requested class on ${agree}/200`);
  }),
);

for (
  const file of [
    "cgan_digits.dlm",
    "siamese_digits.dlm",
    "denoising_autoencoder_digits.dlm",
    "rotation_digits.dlm",
  ]
) {
  Deno.test(`${file}: two training steps agree between the runtimes`, () => twoStepsAgree(file));
}
