/**
 * lang-examples/split_brain_digits.dlm: the two pixel sets are complementary (a checkerboard's two
 * colours, or the left and right halves); the split-brain network learns to predict each set from
 * the other and its features beat a random encoder's under `dlm probe`; an unknown split is a
 * located error; two training steps of both sections agree between the reference interpreter and
 * onnxruntime (`dlm diff --train 2`).
 */
import assert from "node:assert/strict";
import { compileFile } from "../compiler/compile.ts";
import { tensor } from "../compiler/ir/tensor.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { loadDataset, parseDataSpecs } from "../runtime/data/mod.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { readHistory } from "./train_history.ts";
import { dlm } from "./cli_testing.ts";

const FILE = decodeURIComponent(
  new URL("../lang-examples/split_brain_digits.dlm", import.meta.url).pathname,
);

/** The pixel indices of the two sets: run the model on an image whose pixel i holds i. */
function sets(pixels: string): [number[], number[]] {
  const c = compileFile(FILE, { overrides: { pixels } });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const image = tensor("f32", [1, 64], Array.from({ length: 64 }, (_, i) => i));
  const out = runGraph(c.graph!, { image }).outputs;
  return [[...out.targets_a.data as Float32Array], [...out.targets_b.data as Float32Array]];
}

Deno.test("the split-brain's two pixel sets are complementary: a checkerboard, or two halves", () => {
  for (const pixels of ["checkerboard", "halves"]) {
    const [a, b] = sets(pixels);
    assert.equal(a.length, 32);
    assert.deepEqual([...a, ...b].sort((x, y) => x - y), Array.from({ length: 64 }, (_, i) => i));
    const rc = (i: number) => [Math.floor(i / 8), i % 8];
    if (pixels === "checkerboard") {
      assert.ok(a.every((i) => (rc(i)[0] + rc(i)[1]) % 2 === 0), `${a}`);
    } else assert.ok(a.every((i) => rc(i)[1] < 4), `${a}`);
  }
  const bad = compileFile(FILE, { overrides: { pixels: "rows" } });
  const e = bad.diagnostics.find((d) => d.code === "DLM0306")!;
  assert.match(e.message, /pixels must be "checkerboard" or "halves", got "rows"/);
  assert.ok(e.span!.file.endsWith("split_brain_digits.dlm"));
});

Deno.test("the split-brain network predicts each pixel set from the other; its features beat a random encoder's", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_split_brain_" });
  try {
    const w = `${dir}/sb.safetensors`;
    const t = await dlm(
      "train",
      FILE,
      "--data",
      "digits",
      "--epochs",
      "10",
      "--out",
      dir,
      "--save",
      w,
    );
    assert.equal(t.code, 0, t.err);
    const h = readHistory(dir);
    assert.ok(h.at(-1)!.val_loss < 0.9 * h[0].val_loss, JSON.stringify(h.map((r) => r.val_loss)));
    assert.ok(h.at(-1)!.val_error_a_to_b < h[0].val_error_a_to_b);
    assert.ok(h.at(-1)!.val_error_b_to_a < h[0].val_error_b_to_a);
    const p = await dlm("probe", FILE, "--weights", w, "--output", "features");
    assert.equal(p.code, 0, p.err);
    const num = (re: RegExp) => Number(re.exec(p.out)![1]);
    const trained = num(/trained weights\s+([0-9.]+)/);
    const random = num(/random encoder \(init\)\s+([0-9.]+)/);
    assert.ok(trained > random + 0.03, p.out);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("two training steps of the split-brain and the plain autoencoder agree on both runtimes", async () => {
  const data = loadDataset(parseDataSpecs(["image=digits:0-63"]));
  for (const model of ["SplitBrainDigits", "PlainAutoencoderDigits"]) {
    const c = compileTrain(FILE, { model });
    assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
    const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 6, data };
    const r = await diffTrain(c.step!, opts);
    assert.equal(r.ok, true, formatTrainDiff(r, opts));
    assert.equal(r.batchSource, "data");
  }
});
