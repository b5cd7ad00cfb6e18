/**
 * The pretext-task examples train on the digits set as a user runs them:
 * the context encoder fills an erased square better than the per-pixel
 * mean does, and the jigsaw network tells the permutation of a digit's
 * four patches far above chance (1/24), both on held-out digits. Their
 * random squares and permutations are checked to be what the files say
 * (a 4x4 square of ones at a drawn corner; patch j of the puzzle is patch
 * order[j] of the digit), and two training steps agree between the
 * reference interpreter and onnxruntime.
 */
import assert from "node:assert/strict";
import { readHistory } from "./train_history.ts";
import { main } from "../cli/main.ts";
import { compileFile } from "../compiler/compile.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import { producers } from "../compiler/ir/graph.ts";
import { type Tensor, tensor } from "../compiler/ir/tensor.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";

const example = (name: string) =>
  decodeURIComponent(new URL(`../lang-examples/${name}`, import.meta.url).pathname);

/** `dlm train FILE --data digits --epochs E`: the per-epoch rows of history.csv by column name. */
async function train(file: string, epochs: number): Promise<Record<string, number>[]> {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_pretext_test_" });
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

/** The eval model of `file` run by the reference interpreter on `rows` images whose pixel p is p. */
function runOnIndexImages(file: string, rows: number): Record<string, Tensor> {
  const r = compileFile(example(file));
  assert.deepEqual(r.diagnostics.map((d) => formatDiagnostic(d, r.sources)), []);
  const g = r.graph!;
  const feeds: Record<string, Tensor> = {
    image: tensor("f32", [rows, 64], Array.from({ length: rows * 64 }, (_, i) => i % 64)),
  };
  for (const i of g.inputs) if (!feeds[i.name]) feeds[i.name] = g.initializers.get(i.name)!;
  return runGraph(g, feeds).outputs;
}

/** The ops `output` of `file`'s eval model is computed from, and the graph inputs it reads. */
function ancestry(file: string, output: string): { ops: Set<string>; inputs: Set<string> } {
  const g = compileFile(example(file)).graph!;
  const made = producers(g), ops = new Set<string>(), inputs = new Set<string>();
  const params = new Set(g.initializers.keys());
  const seen = new Set<string>(), todo = [output];
  while (todo.length) {
    const v = todo.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    const n = made.get(v);
    if (n) {
      ops.add(n.op);
      todo.push(...n.inputs.filter((i) => i));
    } else if (g.inputs.some((i) => i.name === v) && !params.has(v)) inputs.add(v);
  }
  return { ops, inputs };
}

for (const file of ["context_encoder_digits.dlm", "jigsaw_digits.dlm"]) {
  Deno.test(`${file}'s features_out, what a probe reads, is the encoder on the image alone`, () => {
    const { ops, inputs } = ancestry(file, "features_out");
    assert.deepEqual([...inputs], ["image"]);
    assert.deepEqual([...ops].filter((op) => op.startsWith("Random")), [], "no random draw");
  });
}

/** Two training steps from one start agree between the reference interpreter and onnxruntime. */
async function twoStepsAgree(file: string) {
  const c = compileTrain(example(file));
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 6 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
}

Deno.test("the context encoder fills an erased square better than the per-pixel mean", async () => {
  const h = await train(example("context_encoder_digits.dlm"), 10);
  const loss = h.map((r) => r.val_loss), mean = h.map((r) => r.val_mean_fill_mse);
  // The loss is the erased square's mean squared error on held-out digits.
  assert.ok(loss.at(-1)! < loss[0], JSON.stringify(loss));
  assert.ok(loss.at(-1)! < 0.85 * mean.at(-1)!, `${JSON.stringify(loss)} against ${mean.at(-1)}`);
});

Deno.test("the context encoder erases a 4x4 square at a corner drawn per sample", () => {
  const rows = 40;
  const out = runOnIndexImages("context_encoder_digits.dlm", rows);
  const corners = new Set<number>();
  for (let n = 0; n < rows; n++) {
    const on: number[] = [];
    for (let p = 0; p < 64; p++) {
      const m = out.erased.data[n * 64 + p];
      assert.ok(m === 0 || m === 1, `mask value ${m}`);
      if (m === 1) on.push(p);
      // Outside the square the image is kept as it is.
      else assert.equal(out.inpainted.data[n * 64 + p], p);
    }
    assert.equal(on.length, 16, `row ${n}: ${on}`);
    const top = Math.floor(on[0] / 8), left = on[0] % 8;
    assert.ok(top <= 4 && left <= 4, `corner (${top}, ${left})`);
    const square = [0, 1, 2, 3].flatMap((i) => [0, 1, 2, 3].map((j) => (top + i) * 8 + left + j));
    assert.deepEqual(on, square);
    corners.add(on[0]);
  }
  // 40 draws from 25 corners: a handful at the least (the centre alone would give 1).
  assert.ok(corners.size >= 10, `${corners.size} distinct corners`);
});

Deno.test("context encoder: two training steps agree between the runtimes", async () => {
  await twoStepsAgree("context_encoder_digits.dlm");
});

Deno.test("the jigsaw network tells the permutation of a digit's patches far above chance", async () => {
  const h = await train(example("jigsaw_digits.dlm"), 10);
  const acc = h.map((r) => r.val_permutation_accuracy);
  // Chance is 1/24, about 0.04.
  assert.ok(acc.at(-1)! > 0.3 && acc.at(-1)! > acc[0], JSON.stringify(acc));
  assert.ok(h.at(-1)!.loss < h[0].loss, JSON.stringify(h.map((r) => r.loss)));
});

/** The 24 orders of (0, 1, 2, 3), lexicographic. */
function permutations(items: number[]): number[][] {
  if (items.length === 0) return [[]];
  return items.flatMap((x) => permutations(items.filter((y) => y !== x)).map((p) => [x, ...p]));
}

Deno.test("the jigsaw puzzle's patch j is patch order[j] of the digit, order the drawn permutation", () => {
  const rows = 48;
  const out = runOnIndexImages("jigsaw_digits.dlm", rows);
  const orders = permutations([0, 1, 2, 3]);
  assert.equal(orders.length, 24);
  // Pixel (r, c) of the 4x4 patch q of an 8x8 image is pixel (4 floor(q / 2) + r, 4 (q % 2) + c).
  const pixel = (q: number, r: number, c: number) =>
    (4 * Math.floor(q / 2) + r) * 8 + 4 * (q % 2) + c;
  const drawn = new Set<number>();
  for (let n = 0; n < rows; n++) {
    const k = Number(out.permutation.data[n]);
    assert.ok(k >= 0 && k < 24, `permutation ${k}`);
    drawn.add(k);
    for (let j = 0; j < 4; j++) {
      for (let r = 0; r < 4; r++) {
        for (let c = 0; c < 4; c++) {
          // The image's pixel p holds p, so the puzzle shows where each of its pixels came from.
          assert.equal(out.puzzle.data[n * 64 + pixel(j, r, c)], pixel(orders[k][j], r, c));
        }
      }
    }
  }
  assert.ok(drawn.size >= 10, `${drawn.size} distinct permutations in ${rows} draws`);
});

Deno.test("jigsaw: two training steps agree between the runtimes", async () => {
  await twoStepsAgree("jigsaw_digits.dlm");
});
