/**
 * The masked autoencoder and CLIP examples (lang-examples/mae_digits.dlm, clip_digits.dlm)
 * as a user runs them: `dlm train` on the digits, `dlm run` of the models the files offer
 * (MAE's reconstructions, CLIP's zero-shot classifier from the saved weights), and two
 * training steps agreeing between onnxruntime and the reference interpreter.
 */
import assert from "node:assert/strict";
import { readHistory } from "./train_history.ts";
import { main } from "../cli/main.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { tensor } from "../compiler/ir/tensor.ts";
import { readNpy, writeNpy } from "../runtime/formats/npy.ts";
import { loadDigits } from "../runtime/data/load.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";

const example = (name: string) =>
  decodeURIComponent(new URL(`../lang-examples/${name}`, import.meta.url).pathname);

async function dlm(args: string[]): Promise<void> {
  const err: string[] = [];
  const code = await main(args, { out: () => {}, err: (s) => err.push(s) });
  assert.equal(code, 0, err.join("\n"));
}

/** `dlm train FILE --data digits ...`: the per-epoch rows of history.csv by column name. */
async function train(file: string, extra: string[]): Promise<Record<string, number>[]> {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_mae_clip_test_" });
  try {
    await dlm(["train", file, "--data", "digits", "--out", dir, ...extra]);
    return readHistory(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** The first n digits as an image .npy in dir. */
function digitsNpy(dir: string, n: number): { path: string; image: Tensor; label: Tensor } {
  const d = loadDigits();
  const image = tensor("f32", [n, 64], (d.image.data as Float32Array).subarray(0, n * 64));
  const label = tensor(
    "i64",
    [n],
    Array.from((d.label.data as BigInt64Array).subarray(0, n), Number),
  );
  const path = `${dir}/image.npy`;
  Deno.writeFileSync(path, writeNpy(image));
  return { path, image, label };
}

const npy = (path: string) => readNpy(Deno.readFileSync(path), path);

Deno.test("MAE: the encoder attends over the visible patches only, the decoder over all 16", () => {
  const c = compileTrain(example("mae_digits.dlm"));
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const g = c.step!;
  // Attention weights [N, heads, T, S] of every self-attention in the forward.
  const attn = g.nodes.filter((n) => n.op === "Softmax").map((n) =>
    g.types.get(n.outputs[0])!.shape
  )
    .filter((s) => s.length === 4).map((s) => `${s[2]}x${s[3]}`);
  // keep = 4 visible patches through the 2 encoder layers, 16 tokens through the decoder's 1;
  // the probe's features (no patch hidden, not in the loss) are 16 through the 2 encoder layers.
  assert.deepEqual(attn.sort(), ["16x16", "16x16", "16x16", "4x4", "4x4"]);
});

Deno.test("MAE: masked-patch loss falls to the per-pixel-mean baseline; two steps agree", async () => {
  // A short run at batch 128: the loss falls from its start to the baseline of predicting each
  // pixel's mean (it passes the baseline after about 20 epochs at batch 32, README).
  const h = await train(example("mae_digits.dlm"), ["--epochs", "4", "--batch-size", "128"]);
  const loss = h.map((r) => r.val_loss), base = h.map((r) => r.val_baseline_loss);
  assert.ok(loss[0] > loss.at(-1)!, JSON.stringify(loss));
  assert.ok(loss.at(-1)! < 1.25 * base.at(-1)!, `${JSON.stringify(loss)} vs ${base.at(-1)}`);
  const c = compileTrain(example("mae_digits.dlm"));
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 4 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
});

Deno.test("MAE: a reconstruction keeps the visible patches and fills the hidden ones", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_mae_run_" });
  try {
    const { path, image } = digitsNpy(dir, 6);
    await dlm(["run", example("mae_digits.dlm"), "--input", `image=${path}`, "--out", dir]);
    const mask = npy(`${dir}/mask.npy`), recon = npy(`${dir}/reconstruction.npy`);
    const masked = npy(`${dir}/masked_image.npy`);
    assert.deepEqual(mask.shape, [6, 16]);
    let filled = 0;
    for (let n = 0; n < 6; n++) {
      // 12 of the 16 patches hidden in every image.
      let hidden = 0;
      for (let j = 0; j < 16; j++) hidden += mask.data[n * 16 + j] as number;
      assert.equal(hidden, 12);
      for (let p = 0; p < 64; p++) {
        // Pixel p = (row, col) lies in patch (row / 2) * 4 + col / 2.
        const patch = Math.floor(Math.floor(p / 8) / 2) * 4 + Math.floor((p % 8) / 2);
        const i = n * 64 + p, x = image.data[i] as number;
        if (mask.data[n * 16 + patch] === 1) {
          assert.equal(masked.data[i], 0);
          if (Math.abs((recon.data[i] as number) - x) > 1e-6) filled++;
        } else {
          assert.ok(Math.abs((recon.data[i] as number) - x) < 1e-6, `image ${n} pixel ${p}`);
          assert.ok(Math.abs((masked.data[i] as number) - x) < 1e-6);
        }
      }
    }
    assert.ok(filled > 100, "the hidden pixels come from the decoder, not the input");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("CLIP: zero-shot accuracy from the ten class prompts; ZeroShot runs the saved weights", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_clip_test_" });
  try {
    const save = `${dir}/clip.safetensors`;
    const h = await train(example("clip_digits.dlm"), ["--epochs", "3", "--save", save]);
    assert.ok(h.at(-1)!.loss < h[0].loss, JSON.stringify(h.map((r) => r.loss)));
    // The learned temperature moves (from 0.07) and stays within CLIP's clamp.
    const temp = h.at(-1)!.temperature;
    assert.ok(temp !== 0.07 && temp >= 0.01 && temp <= 1, String(temp));
    const acc = h.map((r) => r.val_zero_shot_accuracy);
    assert.ok(acc.at(-1)! > 0.8, JSON.stringify(acc));
    // The user's path: the image encoder and the prompts' embeddings as a classifier.
    const { path, label } = digitsNpy(dir, 200);
    await dlm([
      "run",
      example("clip_digits.dlm"),
      "--model",
      "ZeroShot",
      "--weights",
      save,
      "--input",
      `image=${path}`,
      "--out",
      dir,
    ]);
    const predicted = npy(`${dir}/predicted.npy`);
    let right = 0;
    for (let i = 0; i < 200; i++) if (predicted.data[i] === label.data[i]) right++;
    assert.ok(right / 200 > 0.8, `${right} / 200`);
    // An untrained CLIP is at chance: the accuracy is the training's.
    const dir2 = `${dir}/random`;
    await dlm([
      "run",
      example("clip_digits.dlm"),
      "--model",
      "ZeroShot",
      "--input",
      `image=${path}`,
      "--out",
      dir2,
    ]);
    const p0 = npy(`${dir2}/predicted.npy`);
    let right0 = 0;
    for (let i = 0; i < 200; i++) if (p0.data[i] === label.data[i]) right0++;
    assert.ok(right0 / 200 < 0.4, `${right0} / 200 untrained`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("CLIP: the symmetric loss and the learned temperature train the same on both runtimes", async () => {
  const c = compileTrain(example("clip_digits.dlm"));
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  assert.ok(c.step!.inputs.some((i) => i.name.includes("logit_scale")) || c.step!.packs?.length);
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 6 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
});
