/**
 * lang-examples/yolo_digits.dlm at a tiny size, as a user runs it on the canvases of
 * tools/digits_detection_data.ts: its loss falls and the responsible boxes' IoU with the truth
 * rises, `dlm eval --metric map` reads its NMS triples on held-out canvases, the responsible box's
 * IoU is a real stop_gradient (the step differentiates it once the stop is taken out), two
 * training steps agree between the runtimes, and the full-size configuration compiles.
 */
import assert from "node:assert/strict";
import { readHistory } from "./train_history.ts";
import { dlm } from "./cli_testing.ts";
import { compileFile } from "../compiler/compile.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { writeCanvases } from "./detection_canvases.ts";

const FILE = decodeURIComponent(
  new URL("../lang-examples/yolo_digits.dlm", import.meta.url).pathname,
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

Deno.test("yolo_digits.dlm trains on digit canvases: loss falls, responsible IoU rises, eval reads its NMS", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_yolo_test_" });
  try {
    const train = canvases(`${dir}/train`, 320, [0, 1500], 1);
    const r = await dlm(
      "train",
      FILE,
      ...train,
      ...["--set", "width=8", "--epochs", "6", "--batch-size", "16", "--out", `${dir}/run`],
      ...["--save", `${dir}/yolo.safetensors`],
    );
    assert.equal(r.code, 0, r.err);
    const h = readHistory(`${dir}/run`);
    const series = (k: string) => JSON.stringify(h.map((row) => row[k]));
    assert.ok(h.at(-1)!.loss < 0.6 * h[0].loss, series("loss"));
    assert.ok(h.at(-1)!.val_coordinates < h[0].val_coordinates, series("val_coordinates"));
    assert.ok(
      h.at(-1)!.val_responsible_iou > h[0].val_responsible_iou + 0.05,
      series("val_responsible_iou"),
    );

    const held = canvases(`${dir}/held`, 60, [1500, 1797], 2);
    const e = await dlm(
      "eval",
      FILE,
      ...["--set", "width=8", "--weights", `${dir}/yolo.safetensors`],
      ...held,
      ...["--metric", "map", "--json"],
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

Deno.test("yolo_digits.dlm's confidence target is a real stop_gradient: without it the step differentiates the IoU", () => {
  const src = Deno.readTextFileSync(FILE);
  const stopped = "stop_gradient(squeeze(box_iou(predicted, unsqueeze(t_box, 2)), 3))";
  assert.ok(src.includes(stopped));
  const dir = Deno.makeTempDirSync({ prefix: "dlm_yolo_stop_test_" });
  try {
    const open = `${dir}/open.dlm`;
    Deno.writeTextFileSync(
      open,
      src.replace(stopped, "squeeze(box_iou(predicted, unsqueeze(t_box, 2)), 3)"),
    );
    const nodes = (f: string) => {
      const c = compileTrain(f, { overrides: { width: 4 } });
      assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
      return c.step!.nodes.length;
    };
    // The gradient of box_iou's division and clipped intersection only appears without the stop.
    assert.ok(nodes(open) > nodes(FILE) + 20, `${nodes(open)} vs ${nodes(FILE)}`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("two yolo_digits.dlm training steps agree between the runtimes on digit canvases", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_yolo_diff_test_" });
  try {
    const data = canvases(dir, 16, [0, 1500], 3);
    const r = await dlm("diff", FILE, "--train", "2", "--set", "width=4", ...data);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /2 of 2 steps, batch 8 \(data\)/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("yolo_digits.dlm compiles at its full size, its train step included", () => {
  const r = compileFile(FILE);
  assert.deepEqual(r.diagnostics.map((d) => formatDiagnostic(d, r.sources)), []);
  const g = r.graph!;
  assert.deepEqual(g.outputs.map((o) => o.name).sort(), [
    "boxes",
    "class_probs",
    "confidence",
    "scores",
    "selected",
    "sqrt_wh",
    "xy",
  ]);
  assert.ok(g.nodes.some((n) => n.op === "NonMaxSuppression"));
  const t = compileTrain(FILE);
  assert.deepEqual(t.diagnostics.filter((d) => d.severity === "error"), []);
});
