/**
 * Every built-in loss trains as a user writes it: in a train section over a
 * model with a symbolic batch N, the step model compiles (every op on the
 * loss's path differentiates without a fixed N) and one step agrees between
 * the reference interpreter and onnxruntime.
 */
import assert from "node:assert/strict";
import { compileTrain } from "../compiler/train/mod.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";

/** A small model: logits [N, 10] (random labels are below 10), probabilities, log-probabilities, and two embeddings [N, 6]. */
const MODEL = `
model M {
  input x: f32[N, 8]
  output logits: f32[N, 10] = x |> head: linear(10)
  output z1: f32[N, 6] = x |> e1: linear(6)
  output z2: f32[N, 6] = x |> e2: linear(6)
  output code: f32[N, 5] = x |> c: linear(5) |> sigmoid
}
`;

/** Each case: the section's inputs, and its loss. */
const CASES: [string, string, string][] = [
  ["cross_entropy (class indices)", "input label: i64[N]", "cross_entropy(logits, label)"],
  [
    "cross_entropy (label smoothing, ignore index)",
    "input label: i64[N]",
    "cross_entropy(logits, label, label_smoothing: 0.1, ignore_index: 3)",
  ],
  [
    "cross_entropy (probabilities)",
    "input p: f32[N, 10]",
    "cross_entropy(logits, softmax(p, axis: 1))",
  ],
  ["nll", "input label: i64[N]", "nll(log_softmax(logits, axis: 1), label)"],
  ["bce", "input t: f32[N, 10]", "bce(sigmoid(logits), sigmoid(t))"],
  ["bce_with_logits", "input t: f32[N, 10]", "bce_with_logits(logits, sigmoid(t))"],
  ["mse", "input t: f32[N, 10]", "mse(logits, t)"],
  ["l1", "input t: f32[N, 10]", "l1(logits, t)"],
  ["smooth_l1", "input t: f32[N, 10]", "smooth_l1(logits, t, beta: 0.5)"],
  ["kl_div", "input p: f32[N, 10]", "kl_div(log_softmax(logits, axis: 1), softmax(p, axis: 1))"],
  ["kl_std_normal", "", "kl_std_normal(z1, z2)"],
  ["info_nce", "", "info_nce(z1, z2, temperature: 0.2)"],
  ["nt_xent", "", "nt_xent(z1, z2, temperature: 0.5)"],
  ["hinge (class indices)", "input label: i64[N]", "hinge(logits, label)"],
  ["sparsity_penalty", "", "sparsity_penalty(code, rho: 0.1)"],
  [
    "a weighted sum with L1/L2 penalties",
    "input label: i64[N]",
    'cross_entropy(logits, label) + 0.01 * l2_penalty(params("*.weight")) + 0.001 * l1_penalty(params("head.*"))',
  ],
];

for (const [name, inputs, loss] of CASES) {
  Deno.test(`${name} trains over a symbolic batch: one step agrees between the runtimes`, async () => {
    const src =
      `${MODEL}\ntrain M {\n  ${inputs}\n  loss = ${loss}\n  optimizer = sgd(lr: 0.1)\n}\n`;
    const c = compileTrain("m.dlm", { read: () => src });
    assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), [], name);
    const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 1, batchSize: 4 };
    const r = await diffTrain(c.step!, opts);
    assert.equal(r.ok, true, formatTrainDiff(r, opts));
    assert.ok(
      Number.isFinite(r.steps[0].lossReference),
      `${name}: loss ${r.steps[0].lossReference}`,
    );
  });
}
