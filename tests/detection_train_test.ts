/**
 * A detector trains end to end: digit_detector.dlm on the synthetic set of
 * tools/digits_detection_data.ts (one digit per 32x32 canvas). Anchors are
 * assigned by IoU inside the train section; after a few epochs the
 * top-scoring box overlaps the truth (mean IoU on held-out canvases).
 */
import assert from "node:assert/strict";
import { readHistory } from "./train_history.ts";
import { main } from "../cli/main.ts";
import { writeNpy } from "../runtime/formats/mod.ts";
import { digitsDetection } from "../tools/digits_detection_data.ts";

Deno.test("digit_detector.dlm learns to find the digit: held-out mean IoU above 0.6 after 6 epochs", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_det_test_" });
  try {
    const d = digitsDetection(600);
    Deno.writeFileSync(`${dir}/image.npy`, writeNpy(d.image));
    Deno.writeFileSync(`${dir}/gt.npy`, writeNpy(d.box));
    Deno.writeFileSync(`${dir}/label.npy`, writeNpy(d.label));
    const file = decodeURIComponent(
      new URL("../lang-examples/digit_detector.dlm", import.meta.url).pathname,
    );
    const err: string[] = [];
    const code = await main([
      "train",
      file,
      ...["image", "gt", "label"].flatMap((n) => ["--data", `${n}=${dir}/${n}.npy`]),
      "--epochs",
      "6",
      "--out",
      `${dir}/run`,
    ], { out: () => {}, err: (s) => err.push(s) });
    assert.equal(code, 0, err.join("\n"));
    const h = readHistory(`${dir}/run`);
    assert.ok(h.at(-1)!.loss < h[0].loss, JSON.stringify(h.map((r) => r.loss)));
    assert.ok(h.at(-1)!.val_mean_iou > 0.6, JSON.stringify(h.map((r) => r.val_mean_iou)));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
