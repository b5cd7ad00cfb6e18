/**
 * lang-examples/ssd_digits.dlm at a tiny size, as a user runs it on the canvases of
 * tools/digits_detection_data.ts: its losses fall, every truth is matched (the forced best
 * prior), the mined negatives are exactly three per positive, `dlm eval --metric map` reads its
 * NMS triples on held-out canvases, two training steps agree between the runtimes, and the
 * full-size configuration compiles.
 */
import assert from "node:assert/strict";
import { readHistory } from "./train_history.ts";
import { dlm } from "./cli_testing.ts";
import { compileFile } from "../compiler/compile.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { writeCanvases } from "./detection_canvases.ts";

const FILE = decodeURIComponent(
  new URL("../lang-examples/ssd_digits.dlm", import.meta.url).pathname,
);

/** Canvases of 1 to 3 digits, named as the train section reads them (`gt` the boxes). */
function canvases(dir: string, count: number, digits: [number, number], seed: number): string[] {
  return writeCanvases(dir, { count, objects: 3, digits, seed }, {
    image: "image",
    gt: "boxes",
    labels: "labels",
    mask: "mask",
  });
}

Deno.test("ssd_digits.dlm trains on digit canvases: every truth matched, negatives mined 3:1, eval reads its NMS", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_ssd_test_" });
  try {
    const train = canvases(`${dir}/train`, 320, [0, 1500], 1);
    const r = await dlm(
      "train",
      FILE,
      ...train,
      ...["--set", "width=8", "--epochs", "6", "--batch-size", "16", "--out", `${dir}/run`],
      ...["--save", `${dir}/ssd.safetensors`],
    );
    assert.equal(r.code, 0, r.err);
    const h = readHistory(`${dir}/run`);
    const series = (k: string) => JSON.stringify(h.map((row) => row[k]));
    assert.ok(h.at(-1)!.loss < 0.7 * h[0].loss, series("loss"));
    assert.ok(h.at(-1)!.val_localisation < h[0].val_localisation, series("val_localisation"));
    assert.ok(h.at(-1)!.val_confidence < h[0].val_confidence, series("val_confidence"));
    for (const row of h) {
      // 1 to 3 digits a canvas: at least one positive prior each, and none left unmatched.
      assert.ok(row.positives >= 2 && row.positives < 30, series("positives"));
      assert.equal(row.unmatched, 0, series("unmatched"));
      // Hard negative mining keeps exactly 3 negatives per positive (480 priors leave plenty).
      assert.ok(Math.abs(row.negatives - 3 * row.positives) < 1e-3, series("negatives"));
    }

    // Scored on canvases of digits the training never saw, through its NMS triples.
    const held = canvases(`${dir}/held`, 60, [1500, 1797], 2);
    const e = await dlm(
      "eval",
      FILE,
      "--set",
      "width=8",
      "--weights",
      `${dir}/ssd.safetensors`,
      ...held,
      "--metric",
      "map",
      "--json",
    );
    assert.equal(e.code, 0, e.err);
    const got = JSON.parse(e.out);
    assert.equal(got.images, 60);
    assert.ok(got.detections > 0 && got.detections <= 60 * 10 * 10, String(got.detections));
    assert.ok(got.ap50 >= 0 && got.ap50 <= 1 && got.ap <= got.ap50, JSON.stringify(got));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("two ssd_digits.dlm training steps agree between the runtimes on digit canvases", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_ssd_diff_test_" });
  try {
    const data = canvases(dir, 16, [0, 1500], 3);
    const r = await dlm("diff", FILE, "--train", "2", "--set", "width=4", ...data);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /2 of 2 steps, batch 8 \(data\)/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("ssd_digits.dlm compiles at its full size, its train step included", () => {
  const r = compileFile(FILE);
  assert.deepEqual(r.diagnostics.map((d) => formatDiagnostic(d, r.sources)), []);
  const g = r.graph!;
  assert.deepEqual(g.outputs.map((o) => o.name).sort(), [
    "boxes",
    "class_logits",
    "offsets",
    "scores",
    "selected",
  ]);
  assert.ok(g.nodes.some((n) => n.op === "NonMaxSuppression"));
  const t = compileTrain(FILE);
  assert.deepEqual(t.diagnostics.filter((d) => d.severity === "error"), []);
  // Mining ranks by a TopK over every prior, scattered back into ranks.
  assert.ok(t.step!.nodes.some((n) => n.op === "TopK"));
  assert.ok(t.step!.nodes.some((n) => n.op === "ScatterElements"));
});
