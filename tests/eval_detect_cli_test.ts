/**
 * `dlm eval --metric map` and `dlm detect`: a hand-made model whose outputs
 * are its input (so the detections are known), digit_detector.dlm after a
 * short training (its AP against the runtime module's on the outputs `dlm
 * run` writes), the diagnostics of outputs and ground truth that do not fit,
 * and the pixels of a drawn PNG.
 */
import assert from "node:assert/strict";
import { type Tensor, tensor } from "../compiler/ir/tensor.ts";
import { readNpy, writeNpy } from "../runtime/formats/mod.ts";
import { decodePng } from "../runtime/formats/png.ts";
import { averagePrecision, type Detection } from "../runtime/eval/average_precision.ts";
import { resolveRoles, toDetections, toGroundTruth } from "../runtime/eval/detections.ts";
import { classColour, TRUTH_COLOUR } from "../runtime/eval/draw.ts";
import { digitsDetection } from "../tools/digits_detection_data.ts";
import { dlm } from "./cli_testing.ts";

function withTemp(f: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "dlm_eval_test_" });
    try {
      await f(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

const STACK = /^\s+at .*(:\d+:\d+\)?|<anonymous>|native)$/m;

/** A model whose detections are its input `det` [N, 3, 6]: (x1, y1, x2, y2, score, label). */
const KNOWN = `model Known {
  input image: f32[N, 1, 8, 8]
  input det: f32[N, 3, 6]
  output boxes = det[:, :, 0:4]
  output scores = det[:, :, 4]
  output labels = cast(det[:, :, 5], "i64")
}
`;

/** Three images, two classes, one padded detection (label -1) and one box missed. */
function knownData(dir: string): string[] {
  const det = tensor("f32", [3, 3, 6], [
    ...[0, 0, 4, 4, 0.9, 0, 4, 4, 8, 8, 0.8, 1, 0, 0, 1, 1, 0.1, 1],
    ...[1, 1, 5, 5, 0.7, 0, 0, 0, 3, 3, 0.6, 0, 0, 0, 0, 0, 0, -1],
    ...[2, 2, 6, 6, 0.5, 1, 0, 4, 4, 8, 0.4, 1, 0, 0, 2, 2, 0.3, 0],
  ]);
  const gt = tensor("f32", [3, 2, 4], [
    ...[0, 0, 4, 4, 4, 4, 8, 7],
    ...[1, 1, 5, 6, 0, 0, 0, 0],
    ...[3, 3, 7, 7, 0, 4, 4, 8],
  ]);
  const label = tensor("i64", [3, 2], [0, 1, 0, -1, 1, 1]);
  const image = tensor("f32", [3, 1, 8, 8], new Array(3 * 64).fill(0.25));
  const files: Record<string, Tensor> = { det, gt, label, image };
  for (const [k, t] of Object.entries(files)) Deno.writeFileSync(`${dir}/${k}.npy`, writeNpy(t));
  return Object.keys(files).flatMap((k) => ["--data", `${k}=${dir}/${k}.npy`]);
}

Deno.test(
  "eval --metric map gives the AP that average_precision.ts computes on the model's detections",
  withTemp(async (dir) => {
    Deno.writeTextFileSync(`${dir}/known.dlm`, KNOWN);
    const data = knownData(dir);
    const r = await dlm("eval", `${dir}/known.dlm`, ...data, "--json");
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, "", "no warning for a model without parameters");
    const got = JSON.parse(r.out);
    // The same detections, written out by hand from det.npy.
    const det = readNpy(Deno.readFileSync(`${dir}/det.npy`));
    const d = det.data as Float32Array;
    const want: Detection[] = [];
    for (let i = 0; i < 3; i++) {
      for (let k = 0; k < 3; k++) {
        const e = d.subarray((i * 3 + k) * 6, (i * 3 + k + 1) * 6);
        if (e[5] >= 0) {
          want.push({ image: i, label: e[5], score: e[4], box: [e[0], e[1], e[2], e[3]] });
        }
      }
    }
    const truth = toGroundTruth(
      readNpy(Deno.readFileSync(`${dir}/gt.npy`)),
      readNpy(Deno.readFileSync(`${dir}/label.npy`)),
      { boxes: "gt", labels: "label" },
    );
    assert.equal(truth.length, 5);
    const ap = averagePrecision(want, truth);
    assert.equal(got.detections, 8);
    assert.equal(got.boxes, 5);
    assert.equal(got.ap, ap.ap);
    assert.equal(got.ap50, ap.ap50);
    assert.equal(got.ap75, ap.ap75);
    assert.equal(got.ar, ap.ar);
    assert.deepEqual(got.classes, JSON.parse(JSON.stringify(ap.classes)));
    // Not a trivial result: a miss and a false positive keep AP50 below 1.
    assert.ok(ap.ap50! > 0.3 && ap.ap50! < 1, String(ap.ap50));

    const table = await dlm("eval", `${dir}/known.dlm`, ...data);
    assert.equal(table.code, 0, table.err);
    assert.match(table.out, /on 3 images \(all rows\): 5 boxes, 8 detections/);
    assert.match(table.out, new RegExp(`AP50   ${ap.ap50!.toFixed(4)}`));
    assert.match(table.out, /class {2}boxes {2}detections {2}AP/);
    // A score threshold drops the detections below it before AP.
    const cut = await dlm(
      "eval",
      `${dir}/known.dlm`,
      ...data,
      "--json",
      "--score-threshold",
      "0.5",
    );
    assert.equal(JSON.parse(cut.out).detections, 5);
  }),
);

Deno.test(
  "eval --val-split scores only the rows dlm train holds out",
  withTemp(async (dir) => {
    Deno.writeTextFileSync(`${dir}/known.dlm`, KNOWN);
    const data = knownData(dir);
    const r = await dlm("eval", `${dir}/known.dlm`, ...data, "--val-split", "0.34", "--json");
    assert.equal(r.code, 0, r.err);
    const got = JSON.parse(r.out);
    assert.equal(got.images, 1);
    assert.match(got.rows, /held out by --val-split 0.34 --seed 0/);
  }),
);

Deno.test(
  "eval and detect reject outputs and ground truth that are not detections, with located diagnostics",
  withTemp(async (dir) => {
    const data = knownData(dir);
    // No output gives boxes.
    Deno.writeTextFileSync(
      `${dir}/none.dlm`,
      "model M {\n  input det: f32[N, 3, 6]\n  output feat = det * 2.0\n}\n",
    );
    const none = await dlm("eval", `${dir}/none.dlm`, ...data);
    assert.equal(none.code, 2);
    assert.match(none.err, /DLM0545: The model's outputs give no boxes .*its outputs are 'feat'/);
    // Labels of the wrong shape: the diagnostic quotes the output's declaration.
    Deno.writeTextFileSync(
      `${dir}/bad.dlm`,
      "model M {\n  input det: f32[N, 3, 6]\n  output boxes = det[:, :, 0:4]\n" +
        '  output labels = cast(det[:, 0, 5], "i64")\n}\n',
    );
    const bad = await dlm("eval", `${dir}/bad.dlm`, ...data);
    assert.equal(bad.code, 2);
    assert.match(
      bad.err,
      /bad\.dlm:4:3: error DLM0546: Output 'labels' is i64\[3\], but detections need \[3, 3\] beside boxes \[3, 3, 4\]/,
    );
    assert.match(bad.err, /output labels = cast/, "the source line is quoted");
    // The same through dlm detect.
    const drawn = await dlm(
      "detect",
      `${dir}/bad.dlm`,
      "--input",
      `det=${dir}/det.npy`,
      "-o",
      `${dir}/x.png`,
    );
    assert.equal(drawn.code, 2);
    assert.match(drawn.err, /DLM0546/);
    assert.throws(() => Deno.statSync(`${dir}/x.png`), "no file is written on an error");
    // An output named for a role that the model does not have.
    Deno.writeTextFileSync(`${dir}/known.dlm`, KNOWN);
    const unknown = await dlm("eval", `${dir}/known.dlm`, ...data, "--output", "scores=conf");
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /DLM0420: Unknown output 'conf' \(scores\)/);
    const role = await dlm("eval", `${dir}/known.dlm`, ...data, "--output", "colour=scores");
    assert.equal(role.code, 2);
    assert.match(role.err, /DLM0515/);
    // Ground truth that does not fit, or none.
    Deno.writeFileSync(`${dir}/gt3.npy`, writeNpy(tensor("f32", [3, 3], new Array(9).fill(0))));
    const gt = await dlm(
      "eval",
      `${dir}/known.dlm`,
      ...data,
      "--truth",
      `boxes=gt3`,
      "--data",
      `gt3=${dir}/gt3.npy`,
    );
    assert.equal(gt.code, 1);
    assert.match(gt.err, /DLM0480: Ground truth boxes 'gt3' is f32\[3, 3\], but needs float boxes/);
    const noTruth = await dlm(
      "eval",
      `${dir}/known.dlm`,
      "--data",
      `det=${dir}/det.npy`,
      "--data",
      `image=${dir}/image.npy`,
      "--data",
      `label=${dir}/label.npy`,
    );
    assert.equal(noTruth.code, 1);
    assert.match(
      noTruth.err,
      /DLM0423: dlm eval --metric map needs ground-truth boxes in the data/,
    );
    const metric = await dlm("eval", `${dir}/known.dlm`, ...data, "--metric", "f1");
    assert.equal(metric.code, 2);
    assert.match(metric.err, /DLM0515: --metric must be map or accuracy, got 'f1'/);
    for (const r of [none, bad, drawn, unknown, role, gt, noTruth, metric]) {
      assert.doesNotMatch(r.out + r.err, STACK);
      assert.doesNotMatch(r.out + r.err, /internal error/i);
    }
  }),
);

Deno.test(
  "detect draws each box in its class's colour and the ground truth in green",
  withTemp(async (dir) => {
    Deno.writeTextFileSync(`${dir}/known.dlm`, KNOWN);
    knownData(dir);
    const png = `${dir}/d.png`;
    const r = await dlm(
      "detect",
      `${dir}/known.dlm`,
      "--input",
      `image=${dir}/image.npy`,
      "--input",
      `det=${dir}/det.npy`,
      "--input",
      `gt=${dir}/gt.npy`,
      "--input",
      `label=${dir}/label.npy`,
      "--score-threshold",
      "0.5",
      "--zoom",
      "8",
      "-o",
      png,
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /1 image of 'image' \(rows 0; 8x\), 2 detections scored 0\.5 or more/);
    const img = decodePng(Deno.readFileSync(png));
    assert.deepEqual([img.width, img.height], [64, 64]);
    const px = (
      x: number,
      y: number,
    ) => [...img.rgba.subarray((y * 64 + x) * 4, (y * 64 + x) * 4 + 3)];
    // Image 0: class 1's box (4, 4, 8, 8) -> its right edge at x = 63, rows 32..63.
    assert.deepEqual(px(63, 50), [...classColour(1)]);
    // Ground truth (4, 4, 8, 7): its bottom edge at y = 55 (right of class 1's tag, 20 x 28
    // pixels at (32, 32)).
    assert.deepEqual(px(58, 55), [...TRUTH_COLOUR]);
    // Its tag: the class's colour around the digit 1 in black, 4 x 4 pixels a font pixel
    // (the glyph's second row is 0b110: (40, 40) is in its middle column).
    assert.deepEqual(px(33, 33), [...classColour(1)]);
    assert.deepEqual(px(40, 40), [0, 0, 0]);
    assert.deepEqual(px(44, 40), [...classColour(1)]);
    // Class 0's box (0, 0, 4, 4): its bottom edge at y = 31 (the tag covers the top-left corner).
    assert.deepEqual(px(20, 31), [...classColour(0)]);
    // Inside a box, the image itself: 0.25 of the range [0, 1] (below class 0's tag).
    assert.deepEqual(px(12, 29), [64, 64, 64]);

    const grid = await dlm(
      "detect",
      `${dir}/known.dlm`,
      "--input",
      `image=${dir}/image.npy`,
      "--input",
      `det=${dir}/det.npy`,
      "--n",
      "3",
      "--zoom",
      "2",
      "-o",
      png,
    );
    assert.equal(grid.code, 0, grid.err);
    const g = decodePng(Deno.readFileSync(png));
    // Two images a row, 16 pixels each, 2 pixels between and around.
    assert.deepEqual([g.width, g.height], [2 * 16 + 3 * 2, 2 * 16 + 3 * 2]);
  }),
);

Deno.test(
  "eval on a briefly trained digit_detector.dlm matches the module on the outputs dlm run writes",
  withTemp(async (dir) => {
    const d = digitsDetection(240);
    for (const [k, t] of Object.entries({ image: d.image, gt: d.box, label: d.label })) {
      Deno.writeFileSync(`${dir}/${k}.npy`, writeNpy(t));
    }
    const file = decodeURIComponent(
      new URL("../lang-examples/digit_detector.dlm", import.meta.url).pathname,
    );
    const data = ["image", "gt", "label"].flatMap((n) => ["--data", `${n}=${dir}/${n}.npy`]);
    const t = await dlm("train", file, ...data, "--epochs", "2", "--save", `${dir}/w.safetensors`);
    assert.equal(t.code, 0, t.err);
    const r = await dlm("eval", file, "--weights", `${dir}/w.safetensors`, ...data, "--json");
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.err, /DLM0547/);
    // Without --weights: the initial weights, with a warning that says so.
    const init = await dlm("eval", file, ...data, "--json");
    assert.equal(init.code, 0, init.err);
    assert.match(
      init.err,
      /warning DLM0547: dlm eval without --weights runs the model's initial random weights \(seed 0\)/,
    );
    const got = JSON.parse(r.out);
    const run = await dlm(
      "run",
      file,
      "--weights",
      `${dir}/w.safetensors`,
      "--input",
      `image=${dir}/image.npy`,
      "--out",
      `${dir}/out`,
    );
    assert.equal(run.code, 0, run.err);
    const outputs: Record<string, Tensor> = {};
    for (const k of ["box", "class_logits", "objectness", "deltas"]) {
      outputs[k] = readNpy(Deno.readFileSync(`${dir}/out/${k}.npy`));
    }
    const dets = toDetections(outputs, resolveRoles(Object.keys(outputs)));
    assert.equal(dets.length, 240, "one detection an image");
    const ap = averagePrecision(
      dets,
      toGroundTruth(d.box, d.label, { boxes: "gt", labels: "label" }),
    );
    for (const k of ["ap", "ap50", "ap75", "ar"] as const) {
      assert.ok(Math.abs(got[k] - ap[k]!) < 1e-6, `${k}: ${got[k]} vs ${ap[k]}`);
    }
  }),
);

Deno.test(
  "eval reads the batched nms built-in's (image, class, box) triples",
  withTemp(async (dir) => {
    Deno.writeTextFileSync(
      `${dir}/nms.dlm`,
      "model Nms {\n  input b: f32[N, 4, 4]\n  input s: f32[N, 2, 4]\n" +
        "  output boxes = b * 1.0\n  output scores = s * 1.0\n" +
        "  output selected = nms(b, s, iou: 0.5)\n}\n",
    );
    const files: Record<string, Tensor> = {
      // Box 1 of image 0 overlaps box 0 (IoU 0.95): suppressed in both classes.
      b: tensor("f32", [2, 4, 4], [
        ...[0, 0, 4, 4, 0, 0, 4, 4.2, 4, 4, 8, 8, 0, 4, 4, 8],
        ...[1, 1, 5, 5, 2, 2, 6, 6, 0, 0, 2, 2, 5, 5, 8, 8],
      ]),
      s: tensor("f32", [2, 2, 4], [
        ...[0.9, 0.8, 0.1, 0.2, 0.1, 0.2, 0.7, 0.3],
        ...[0.6, 0.5, 0.4, 0.1, 0.2, 0.3, 0.1, 0.9],
      ]),
      gt: tensor("f32", [2, 2, 4], [0, 0, 4, 4, 4, 4, 8, 8, 1, 1, 5, 5, 5, 5, 8, 8]),
      label: tensor("i64", [2, 2], [0, 1, 0, 1]),
    };
    for (const [k, t] of Object.entries(files)) Deno.writeFileSync(`${dir}/${k}.npy`, writeNpy(t));
    const data = Object.keys(files).flatMap((k) => ["--data", `${k}=${dir}/${k}.npy`]);
    const r = await dlm("eval", `${dir}/nms.dlm`, ...data, "--json");
    assert.equal(r.code, 0, r.err);
    const got = JSON.parse(r.out);
    assert.equal(got.detections, 14, "16 boxes and classes, less the 2 suppressed");
    const want = averagePrecision(
      toDetections(
        {
          boxes: files.b,
          scores: files.s,
          selected: readNpyOf(await runOut(dir, "nms.dlm", ["b", "s"]), "selected"),
        },
        { boxes: "boxes", scores: "scores", selected: "selected" },
      ),
      toGroundTruth(files.gt, files.label, { boxes: "gt", labels: "label" }),
    );
    assert.equal(got.ap, want.ap);
    assert.equal(got.ap50, 1);
  }),
);

Deno.test(
  "eval --metric accuracy scores a classifier's logits against the labels",
  withTemp(async (dir) => {
    Deno.writeTextFileSync(
      `${dir}/c.dlm`,
      "model C {\n  input x: f32[N, 3]\n  output logits = x * 1.0\n}\n",
    );
    Deno.writeFileSync(
      `${dir}/x.npy`,
      writeNpy(tensor("f32", [4, 3], [1, 0, 0, 0, 2, 1, 0, 0, 3, 5, 1, 0])),
    );
    Deno.writeFileSync(`${dir}/label.npy`, writeNpy(tensor("i64", [4], [0, 1, 2, 1])));
    const data = ["--data", `x=${dir}/x.npy`, "--data", `label=${dir}/label.npy`];
    const r = await dlm("eval", `${dir}/c.dlm`, ...data, "--metric", "accuracy");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /accuracy of 'logits' on 4 rows \(all rows\): 0\.7500/);
    const j = await dlm("eval", `${dir}/c.dlm`, ...data, "--metric", "accuracy", "--json");
    assert.equal(JSON.parse(j.out).correct, 3);
  }),
);

Deno.test(
  "detect --val-split draws the rows dlm train holds out",
  withTemp(async (dir) => {
    Deno.writeTextFileSync(`${dir}/known.dlm`, KNOWN);
    knownData(dir);
    const inputs = ["image", "det"].flatMap((k) => ["--input", `${k}=${dir}/${k}.npy`]);
    const r = await dlm(
      "detect",
      `${dir}/known.dlm`,
      ...inputs,
      "--val-split",
      "0.34",
      "-o",
      `${dir}/v.png`,
    );
    assert.equal(r.code, 0, r.err);
    const ev = await dlm(
      "eval",
      `${dir}/known.dlm`,
      ...knownDataArgs(dir),
      "--val-split",
      "0.34",
      "--json",
    );
    assert.equal(JSON.parse(ev.out).images, 1);
    assert.match(r.out, /\(rows \d, held out by --val-split 0\.34 --seed 0; 16x\)/);
    const over = await dlm(
      "detect",
      `${dir}/known.dlm`,
      ...inputs,
      "--val-split",
      "0.34",
      "--n",
      "2",
      "-o",
      `${dir}/w.png`,
    );
    assert.equal(over.code, 1);
    assert.match(
      over.err,
      /DLM0423: --start 0 --n 2 needs 2 rows \(held out by --val-split 0\.34 --seed 0\), got 1/,
    );
  }),
);

function knownDataArgs(dir: string): string[] {
  return ["det", "gt", "label", "image"].flatMap((k) => ["--data", `${k}=${dir}/${k}.npy`]);
}

/** `dlm run FILE --input NAME=DIR/NAME.npy ... --out DIR/out`; the output directory. */
async function runOut(dir: string, file: string, inputs: string[]): Promise<string> {
  const r = await dlm(
    "run",
    `${dir}/${file}`,
    ...inputs.flatMap((k) => ["--input", `${k}=${dir}/${k}.npy`]),
    "--out",
    `${dir}/out`,
  );
  assert.equal(r.code, 0, r.err);
  return `${dir}/out`;
}

function readNpyOf(dir: string, name: string): Tensor {
  return readNpy(Deno.readFileSync(`${dir}/${name}.npy`));
}
