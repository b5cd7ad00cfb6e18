/**
 * lenet_digits_augmented.dlm trains as a user runs it, with and without its augmentation; its
 * evaluation model has no augmentation node (the same graph as the plain model's); two steps
 * agree between the runtimes with the augmentation's draws shared; `train_samples` /
 * `--train-samples` train on that many samples.
 */
import assert from "node:assert/strict";
import { readHistory } from "./train_history.ts";
import { main } from "../cli/main.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";

const FILE = decodeURIComponent(
  new URL("../lang-examples/lenet_digits_augmented.dlm", import.meta.url).pathname,
);
const TINY = ["--set", "c1=4", "--set", "c2=8"];

async function train(...args: string[]): Promise<Record<string, number>[]> {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_augment_test_" });
  try {
    const err: string[] = [];
    const code = await main(
      ["train", FILE, "--data", "digits", ...TINY, "--out", dir, ...args],
      { out: () => {}, err: (s) => err.push(s) },
    );
    assert.equal(code, 0, err.join("\n"));
    return readHistory(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("the augmented LeNet trains on a slice of the digits, with and without augmentation", async () => {
  for (const extra of [[], ["--set", "augment=false"]]) {
    const h = await train("--epochs", "4", "--train-samples", "96", ...extra);
    assert.ok(h.at(-1)!.loss < h[0].loss, JSON.stringify(h.map((r) => r.loss)));
    // 96 samples in batches of 16: 6 steps an epoch.
    assert.deepEqual(h.map((r) => r.step), [6, 12, 18, 24]);
  }
});

Deno.test("the section's train_samples is the default and --train-samples overrides it", async () => {
  const c = compileTrain(FILE);
  assert.equal(c.settings!.trainSamples, 300);
  const h = await train("--epochs", "1");
  assert.deepEqual(h.map((r) => r.step), [Math.ceil(300 / 16)]);
});

Deno.test("the augmented LeNet's evaluation model is the plain one's: no augmentation node", () => {
  const aug = compileTrain(FILE, { overrides: { c1: 4, c2: 8 } });
  const plain = compileTrain(FILE, { overrides: { c1: 4, c2: 8, augment: false } });
  const ops = (g: typeof aug.eval) => g!.nodes.map((n) => n.op);
  // The forward, up to the logits' last Gemm, is the same graph; only the loss reads its target
  // otherwise (mix_labels' one-hot probabilities, which eval mode leaves unmixed).
  const forward = (g: typeof aug.eval) => ops(g).slice(0, ops(g).lastIndexOf("Gemm") + 1);
  assert.deepEqual(forward(aug.eval), forward(plain.eval));
  assert.equal(forward(aug.eval)[0], "Reshape");
  // The step draws the affine map (uniform), the noise (normal) and mixup's Beta proposals
  // (normal and uniform); the evaluation model draws nothing.
  const draws = (g: typeof aug.eval) => ops(g).filter((o) => o.startsWith("Random")).sort();
  assert.deepEqual(draws(aug.step), [
    "RandomNormalLike",
    "RandomNormalLike",
    "RandomUniformLike",
    "RandomUniformLike",
  ]);
  assert.deepEqual([draws(plain.step), draws(aug.eval)], [[], []]);
});

Deno.test("two augmented steps agree between the reference interpreter and onnxruntime", async () => {
  const c = compileTrain(FILE, { overrides: { c1: 4, c2: 8 } });
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 4 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
});

Deno.test("an augmented run is reproducible under --seed (and the comparison sees another seed)", async () => {
  const run = (seed: string) =>
    train("--epochs", "2", "--train-samples", "48", "--seed", seed).then((h) =>
      h.map((r) => [r.loss, r.val_loss])
    );
  const [a, b, c] = [await run("3"), await run("3"), await run("4")];
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});
