import assert from "node:assert/strict";
import {
  averagePrecision,
  type Box,
  boxIou,
  COCO_IOU_THRESHOLDS,
  type Detection,
  type GroundTruth,
  linspace,
} from "./average_precision.ts";

const close = (a: number | null, b: number, tol = 1e-12) =>
  assert.ok(a !== null && Math.abs(a - b) <= tol, `${a} != ${b}`);

const gt = (image: number, label: number, box: Box, crowd = false): GroundTruth => ({
  image,
  label,
  box,
  crowd,
});
const det = (image: number, label: number, score: number, box: Box): Detection => ({
  image,
  label,
  score,
  box,
});

Deno.test("thresholds and recall points are numpy.linspace's values", () => {
  assert.equal(COCO_IOU_THRESHOLDS.length, 10);
  assert.equal(COCO_IOU_THRESHOLDS[8], 0.8999999999999999); // as numpy prints it
  assert.equal(linspace(0, 1, 101)[57], 0.5700000000000001);
  assert.equal(linspace(0, 1, 101)[100], 1);
});

Deno.test("box IoU: overlap, disjoint, touching, crowd", () => {
  close(boxIou([0, 0, 2, 2], [1, 0, 3, 2]), 2 / 6);
  assert.equal(boxIou([0, 0, 1, 1], [2, 2, 3, 3]), 0);
  assert.equal(boxIou([0, 0, 1, 1], [1, 0, 2, 1]), 0); // sharing an edge
  // Against a crowd box: intersection over the detection's area.
  close(boxIou([0, 0, 2, 2], [1, 0, 10, 10], true), 2 / 4);
});

Deno.test("perfect detections score 1 everywhere", () => {
  const truth = [gt(0, 1, [0, 0, 10, 10]), gt(0, 2, [20, 20, 30, 30]), gt(1, 1, [5, 5, 9, 9])];
  const dets = truth.map((g, k) => det(g.image, g.label, 0.9 - k * 0.1, g.box));
  const r = averagePrecision(dets, truth);
  close(r.ap, 1);
  close(r.ap50, 1);
  close(r.ap75, 1);
  close(r.ar, 1);
});

Deno.test("a false positive between two hits: the 101-point interpolation by hand", () => {
  // Ranks: TP (recall 1/2, precision 1), FP (1/2, 1/2), TP (1, 2/3).
  // Interpolated precision: 1, 2/3, 2/3. Recall points 0..0.50 (51 of them)
  // first reach a rank at the first TP: precision 1; 0.51..1 (50) at the
  // third: 2/3. AP = (51 + 50 * 2/3) / 101 at every threshold.
  const truth = [gt(0, 0, [0, 0, 10, 10]), gt(0, 0, [20, 0, 30, 10])];
  const dets = [
    det(0, 0, 0.9, [0, 0, 10, 10]),
    det(0, 0, 0.8, [50, 50, 60, 60]),
    det(0, 0, 0.7, [20, 0, 30, 10]),
  ];
  const r = averagePrecision(dets, truth);
  const want = (51 + 50 * 2 / 3) / 101;
  close(r.ap, want);
  close(r.ap50, want);
  close(r.classes[0].recall[9]!, 1);
});

Deno.test("a box found at IoU 0.62 counts at thresholds 0.50-0.60 only", () => {
  // Detection [0, 0, 10, 10] against truth [0, 0, 10, 16.129...]: IoU 100/161.29 = 0.62.
  const h = 100 / 0.62 / 10;
  const truth = [gt(0, 3, [0, 0, 10, h])];
  const r = averagePrecision([det(0, 3, 0.5, [0, 0, 10, 10])], truth);
  close(r.ap50, 1);
  close(r.ap75, 0);
  close(r.ap, 3 / 10, 1e-12);
  close(r.ar, 3 / 10, 1e-12);
});

Deno.test("a duplicate detection is a false positive; the better-scored one is matched first", () => {
  const truth = [gt(0, 0, [0, 0, 10, 10])];
  const dets = [det(0, 0, 0.6, [0, 0, 10, 10]), det(0, 0, 0.9, [0, 0, 10, 10])];
  // Ranks: TP then FP; precision after the TP is 1 and recall reaches 1 there.
  close(averagePrecision(dets, truth).ap, 1);
  // A higher-scored miss before the hit halves the precision at full recall.
  const worse = [det(0, 0, 0.95, [40, 40, 50, 50]), ...dets];
  close(averagePrecision(worse, truth).ap, 0.5);
});

Deno.test("a detection takes the unmatched box of highest IoU, not the first", () => {
  const truth = [gt(0, 0, [0, 0, 10, 10]), gt(0, 0, [2, 0, 12, 10])];
  // The first detection overlaps the second box best (IoU 1) and the first
  // box at 8/12; the second detection then still finds the first box.
  const dets = [det(0, 0, 0.9, [2, 0, 12, 10]), det(0, 0, 0.8, [0, 0, 10, 10])];
  close(averagePrecision(dets, truth).ap, 1);
});

Deno.test("crowd boxes: a detection on one is neither a hit nor a false positive", () => {
  const truth = [gt(0, 0, [0, 0, 10, 10]), gt(0, 0, [20, 20, 60, 60], true)];
  const onCrowd = [det(0, 0, 0.9, [25, 25, 35, 35]), det(0, 0, 0.95, [30, 30, 40, 40])];
  const r = averagePrecision([...onCrowd, det(0, 0, 0.5, [0, 0, 10, 10])], truth);
  close(r.ap, 1); // the crowd matches are ignored, so the only ranked hit has precision 1
  assert.equal(r.classes[0].boxes, 1);
  // Without the crowd flag the same detections are two false positives before the hit.
  const plain = averagePrecision(
    [...onCrowd, det(0, 0, 0.5, [0, 0, 10, 10])],
    [truth[0], gt(0, 0, [20, 20, 60, 60])],
  );
  assert.ok(plain.ap !== null && plain.ap < 0.5);
});

Deno.test("an ordinary box is preferred to a crowd box of higher IoU", () => {
  const truth = [gt(0, 0, [0, 0, 10, 10]), gt(0, 0, [0, 0, 10, 10], true)];
  const r = averagePrecision([det(0, 0, 0.9, [0, 0, 10, 9])], truth);
  close(r.ap50, 1);
});

Deno.test("classes without ground truth are left out of the means", () => {
  const truth = [gt(0, 0, [0, 0, 10, 10])];
  const dets = [det(0, 0, 0.9, [0, 0, 10, 10]), det(0, 7, 0.99, [0, 0, 10, 10])];
  const r = averagePrecision(dets, truth);
  close(r.ap, 1);
  const c7 = r.classes.find((c) => c.label === 7)!;
  assert.equal(c7.ap, null);
  assert.equal(c7.detections, 1);
  assert.equal(averagePrecision(dets, []).ap, null);
});

Deno.test("ranking runs across images; missing boxes cap the recall", () => {
  // Image 0: a hit at 0.9. Image 1: a miss at 0.8 and a hit at 0.4. Image 2: one box never found.
  const truth = [gt(0, 0, [0, 0, 5, 5]), gt(1, 0, [0, 0, 5, 5]), gt(2, 0, [0, 0, 5, 5])];
  const dets = [
    det(0, 0, 0.9, [0, 0, 5, 5]),
    det(1, 0, 0.8, [10, 10, 15, 15]),
    det(1, 0, 0.4, [0, 0, 5, 5]),
  ];
  // Ranks: TP (1/3, 1), FP (1/3, 1/2), TP (2/3, 2/3) -> interpolated 1, 2/3, 2/3.
  // Recall points 0..0.33 (34) -> 1; 0.34..0.66 (33) -> 2/3; 0.67..1 (34) -> 0.
  const r = averagePrecision(dets, truth);
  close(r.ap, (34 + 33 * 2 / 3) / 101);
  close(r.ar, 2 / 3);
});

Deno.test("maxDetections keeps each image's best-scored detections per class", () => {
  const truth = [gt(0, 0, [0, 0, 5, 5])];
  const misses = Array.from({ length: 3 }, (_, k) => det(0, 0, 0.9 - k * 0.1, [9, 9, 12, 12]));
  const hit = det(0, 0, 0.1, [0, 0, 5, 5]);
  close(averagePrecision([...misses, hit], truth, { maxDetections: 3 }).ap, 0);
  close(averagePrecision([...misses, hit], truth, { maxDetections: 4 }).ap, 0.25);
});

Deno.test("custom thresholds: AP at IoU 0.5 alone (VOC-style threshold, COCO interpolation)", () => {
  const truth = [gt(0, 0, [0, 0, 10, 10])];
  const r = averagePrecision([det(0, 0, 1, [0, 0, 10, 7])], truth, { iouThresholds: [0.5] });
  close(r.ap, 1);
  close(r.ap50, 1);
  assert.equal(r.ap75, null);
});

Deno.test("60 random cases agree with a numpy implementation in COCOeval's structure", async () => {
  // tests/fixtures/eval/make_ap_fixtures.py: ties in scores, crowd boxes,
  // wrong classes, classes without boxes, and images with over 100 detections.
  const url = new URL("../../tests/fixtures/eval/ap_cases.json", import.meta.url);
  const cases = JSON.parse(await Deno.readTextFile(url)) as {
    truth: GroundTruth[];
    detections: Detection[];
    classes: { label: number; ap: (number | null)[]; recall: (number | null)[] }[];
  }[];
  assert.equal(cases.length, 60);
  let checked = 0;
  for (const [k, c] of cases.entries()) {
    const r = averagePrecision(c.detections, c.truth);
    assert.deepEqual(r.classes.map((x) => x.label), c.classes.map((x) => x.label), `case ${k}`);
    for (const [j, want] of c.classes.entries()) {
      const got = r.classes[j];
      if (want.ap[0] === null) {
        assert.equal(got.ap, null, `case ${k} class ${want.label}`);
        continue;
      }
      const apMean = want.ap.reduce((s: number, x) => s + x!, 0) / want.ap.length;
      close(got.ap, apMean, 1e-12);
      close(got.ap50, want.ap[0]!, 1e-12);
      close(got.ap75, want.ap[5]!, 1e-12);
      for (const [t, rc] of want.recall.entries()) close(got.recall[t], rc!, 1e-12);
      checked++;
    }
  }
  assert.ok(checked > 60, `only ${checked} classes with boxes`);
});
