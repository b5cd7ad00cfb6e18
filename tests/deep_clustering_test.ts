/**
 * Stages of a train section (`input pseudo: i64[N] from kmeans(...)`, runtime/train/stages.ts)
 * and lang-examples/deep_clustering_digits.dlm: the checker's located errors; a stage runs before
 * every epoch it is due and its clusters are the data the epoch trains on; new clusters keep the
 * previous numbers where they can; k larger than the data is a located DLM0728 before training;
 * a clustered value that is NaN or infinite is a located DLM0317; two steps agree on both runtimes.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { compileTrain } from "../compiler/train/mod.ts";
import { compileFile } from "../compiler/compile.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import { alignClusters } from "../runtime/train/stages.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";
import { readHistory } from "./train_history.ts";
import { dlm } from "./cli_testing.ts";

const EXAMPLE = decodeURIComponent(
  new URL("../lang-examples/deep_clustering_digits.dlm", import.meta.url).pathname,
);

const MODEL = `
model M(k: int = 3) {
  input image: f32[N, 64]
  output features: f32[N, 8] = image |> enc: linear(8) |> relu
  output logits: f32[N, k] = features |> head: linear(k)
}
`;

function errorsOf(body: string, extra = ""): string[] {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/m.dlm`, MODEL + extra + `train M {\n${body}\n}\n`);
    const c = compileTrain(`${dir}/m.dlm`);
    return c.diagnostics.filter((d) => d.severity === "error").map((d) =>
      `${d.code} ${d.span?.line}:${d.span?.col} ${d.message}`
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const LOSS = "  loss = cross_entropy(logits, pseudo)\n  optimizer = adam()";

Deno.test("a stage's input is checked where it is declared", () => {
  // A well-formed stage compiles, with a stage model that reads the weights and the image only.
  const ok = errorsOf(`  input label: i64[N]
  input pseudo: i64[N] from kmeans(features, k: k, classes: label)
${LOSS}`);
  assert.deepEqual(ok, []);
  const e = (s: string) => errorsOf(`${s}\n${LOSS}`);
  assert.match(
    e("  input pseudo: i64[N] from kmeans(image[:, 0], k: 3)")[0],
    /^DLM0731 .*\[N, F\]/,
  );
  assert.match(
    e("  input pseudo: f32[N] from kmeans(features, k: 3)")[0],
    /^DLM0730 \d+:\d+ input 'pseudo' from kmeans\(\) must be i64\[N\]/,
  );
  assert.match(
    e("  input pseudo: i64[N] from kmeans(features, k: 0)")[0],
    /^DLM0210 .*kmeans\(\)'s k needs an int >= 1, got 0/,
  );
  assert.match(e("  input pseudo: i64[N] from adam()")[0], /^DLM0201 .*a stage such as kmeans/);
  // No features: every row at distance 0 from every other, a clustering of nothing (it trained).
  assert.match(
    e("  input pseudo: i64[N] from kmeans(features[:, :0], k: 3)")[0],
    /^DLM0731 .*\[N, F\] with F known and at least 1, got f32\[N, 0\]/,
  );
  assert.match(
    e("  input pseudo: i64[N] from kmeans(features, k: 3, classes: argmax(logits, axis: 1))")[0],
    /^DLM0731 .*an i64 input of the data/,
  );
  // In a model, not a train section.
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(
      `${dir}/bad.dlm`,
      `model Bad {\n  input image: f32[N, 64]\n  input y: i64[N] from kmeans(image, k: 2)\n  output z = image\n}\n`,
    );
    const d = compileFile(`${dir}/bad.dlm`).diagnostics.find((x) => x.code === "DLM0729")!;
    assert.match(
      d.message,
      /'input y: \.\.\. from \.\.\.' .* belongs in a train section, not a model/,
    );
    assert.equal(d.span!.line, 3);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("new clusters keep the previous numbers where they can (Hungarian on their overlap)", () => {
  const prev = Int32Array.from([0, 0, 1, 1, 2, 2, 2]);
  // The same partition with its numbers rotated, and one row moved.
  const next = Int32Array.from([1, 1, 2, 2, 0, 0, 2]);
  const perm = alignClusters(prev, next, 3);
  assert.deepEqual([...next].map((c) => perm[c]), [0, 0, 1, 1, 2, 2, 1]);
});

Deno.test("deep clustering: k-means runs before every epoch, and the network learns its clusters", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_deep_clustering_" });
  try {
    const r = await dlm(
      "train",
      EXAMPLE,
      "--data",
      "digits",
      "--epochs",
      "4",
      "--out",
      dir,
    );
    assert.equal(r.code, 0, r.err);
    const h = readHistory(dir);
    assert.equal(h.length, 4);
    for (const e of h) {
      // Each epoch's clustering is scored against the labels it never trains on.
      assert.ok(e.pseudo_nmi > 0.3 && e.pseudo_nmi <= 1, JSON.stringify(e));
      assert.ok(e.pseudo_accuracy > 0.3 && e.pseudo_accuracy <= 1);
    }
    // The first clustering assigns every row; later ones move a part of them.
    assert.equal(h[0].pseudo_changed, 1);
    assert.ok(h[3].pseudo_changed < 0.5, JSON.stringify(h.map((e) => e.pseudo_changed)));
    // The head learns to name the clusters it is given.
    assert.ok(h[3].val_agreement > 0.5, JSON.stringify(h.map((e) => e.val_agreement)));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a section with stages runs them on a second run too: the step cache does not keep it", async () => {
  // The suite's DLM_CACHE_DIR turns the compiled-step cache on (runtime/train/step_cache.ts); a
  // cached entry holds no stage graphs, so such a section must compile every time.
  const dirs = [0, 1].map(() => Deno.makeTempDirSync({ prefix: "dlm_deep_clustering_cache_" }));
  try {
    for (const dir of dirs) {
      const r = await dlm("train", EXAMPLE, "--data", "digits", "--epochs", "1", "--out", dir);
      assert.equal(r.code, 0, r.err);
      const [e] = readHistory(dir);
      assert.equal(e.pseudo_changed, 1, JSON.stringify(e));
      assert.ok(e.pseudo_nmi > 0.3, JSON.stringify(e));
    }
  } finally {
    for (const dir of dirs) Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("kmeans(k:) larger than the training rows is DLM0728 at k, before any step", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_deep_clustering_" });
  try {
    const r = await dlm(
      "train",
      EXAMPLE,
      "--data",
      "digits",
      "--set",
      "k=2000",
      "--epochs",
      "1",
    );
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /deep_clustering_digits\.dlm:\d+:\d+: error DLM0728: kmeans\(k: 2000\) needs at most as many clusters as the 1438 rows it clusters \(the training rows\): k must be in 1\.\.1438/,
    );
    assert.doesNotMatch(r.err, /epoch 1/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a clustered value that is NaN is DLM0317 at the kmeans call, not an internal error", async () => {
  // k-means++ drew its centres with probabilities D^2 / sum D^2, NaN for NaN features, and
  // failed inside with "Cannot convert undefined or null to object".
  const dir = Deno.makeTempDirSync({ prefix: "dlm_deep_clustering_nan_" });
  try {
    const rows = Deno.readTextFileSync(
      new URL("../lang-examples/data/digits.csv", import.meta.url),
    ).split("\n").slice(0, 12).join("\n") + "\n";
    Deno.writeTextFileSync(`${dir}/d.csv`, rows);
    // log of a negative number: NaN in every row, from the first epoch on.
    Deno.writeTextFileSync(
      `${dir}/m.dlm`,
      MODEL.replace("image |> enc: linear(8) |> relu", "log(image - 100.0) |> enc: linear(8)") +
        `train M {\n  input pseudo: i64[N] from kmeans(features, k: 2)\n${LOSS}\n}\n`,
    );
    const r = await dlm(
      "train",
      `${dir}/m.dlm`,
      "--data",
      `image=${dir}/d.csv:0-63`,
      "--epochs",
      "1",
      "--out",
      `${dir}/out`,
    );
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.err,
      /m\.dlm:\d+:29: error DLM0317: kmeans\(features\) needs finite values to cluster, but row 0 of the training rows is NaN with the weights before epoch 1/,
    );
    assert.doesNotMatch(r.err, /internal error/);
    assert.ok(!existsSync(`${dir}/out/checkpoint.safetensors`));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("two training steps of deep clustering agree on both runtimes", async () => {
  const c = compileTrain(EXAMPLE);
  assert.deepEqual(
    c.diagnostics.filter((d) => d.severity === "error").map((d) => formatDiagnostic(d)),
    [],
  );
  assert.equal(c.stages!.length, 1);
  assert.deepEqual(c.stages![0].graph.inputs.map((i) => i.name).filter((n) => !n.includes(".")), [
    "image",
  ]);
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 6 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
});
