import assert from "node:assert/strict";
import { DlmError } from "../../compiler/diagnostics.ts";
import { type DType, type Tensor, tensor } from "../../compiler/ir/tensor.ts";
import { resolveRoles, toDetections, toGroundTruth } from "./detections.ts";

const t = (dtype: DType, shape: number[], data: number[]): Tensor => tensor(dtype, shape, data);

function code(f: () => unknown): { code: string; message: string; line?: number } {
  try {
    f();
  } catch (e) {
    if (e instanceof DlmError) {
      const d = e.diagnostics[0];
      return { code: d.code, message: d.message, line: d.span?.line };
    }
    throw e;
  }
  throw new Error("expected a DlmError");
}

Deno.test("resolveRoles() takes the first default name of each role and the names given", () => {
  assert.deepEqual(resolveRoles(["box", "class_logits", "objectness", "deltas"]), {
    boxes: "box",
    logits: "class_logits",
    objectness: "objectness",
  });
  assert.deepEqual(resolveRoles(["p", "q", "labels"], { boxes: "p", scores: "q" }), {
    boxes: "p",
    scores: "q",
    labels: "labels",
  });
});

Deno.test("resolveRoles() names the outputs there are when none gives boxes", () => {
  const e = code(() => resolveRoles(["logits", "feat"]));
  assert.equal(e.code, "DLM0545");
  assert.match(e.message, /give no boxes .*; its outputs are 'logits', 'feat'/);
  const f = code(() => resolveRoles(["boxes"], { scores: "conf" }));
  assert.equal(f.code, "DLM0420");
  assert.match(f.message, /'conf' \(scores\)/);
});

Deno.test("toDetections() reads boxes, labels and scores [N, K], dropping padding and low scores", () => {
  const outputs = {
    boxes: t("f32", [2, 2, 4], [0, 0, 2, 2, 1, 1, 3, 3, 5, 5, 6, 6, 7, 7, 8, 8]),
    labels: t("i64", [2, 2], [3, -1, 1, 2]),
    scores: t("f32", [2, 2], [0.9, 0.8, 0.05, 0.6]),
  };
  const d = toDetections(outputs, resolveRoles(Object.keys(outputs)), {
    firstImage: 10,
    scoreThreshold: 0.1,
  });
  assert.deepEqual(d, [
    { image: 10, label: 3, score: t("f32", [1], [0.9]).data[0], box: [0, 0, 2, 2] },
    { image: 11, label: 2, score: t("f32", [1], [0.6]).data[0], box: [7, 7, 8, 8] },
  ]);
});

Deno.test("toDetections() keeps count[n] boxes of image n", () => {
  const outputs = {
    boxes: t("f32", [2, 2, 4], [0, 0, 2, 2, 1, 1, 3, 3, 5, 5, 6, 6, 7, 7, 8, 8]),
    scores: t("f32", [2, 2], [1, 1, 1, 1]),
    count: t("i64", [2], [1, 0]),
  };
  const d = toDetections(outputs, resolveRoles(Object.keys(outputs)));
  assert.deepEqual(d.map((x) => [x.image, x.label, x.box]), [[0, 0, [0, 0, 2, 2]]]);
});

Deno.test("toDetections() scores a single-box model by softmax probability times sigmoid of the best anchor", () => {
  // digit_detector.dlm's outputs: box [N, 4], class_logits [N, C], objectness [N, A].
  const outputs = {
    box: t("f32", [2, 4], [0, 0, 16, 16, 4, 4, 20, 20]),
    class_logits: t("f32", [2, 3], [0, Math.log(2), 0, 5, 0, 0]),
    objectness: t("f32", [2, 2], [-10, 0, 1, -3]),
  };
  const d = toDetections(outputs, resolveRoles(Object.keys(outputs)));
  assert.equal(d.length, 2);
  assert.deepEqual([d[0].label, d[1].label], [1, 0]);
  // Image 0: p = 2 / (1 + 2 + 1) = 0.5, objectness max 0 -> sigmoid 0.5.
  assert.ok(Math.abs(d[0].score - 0.25) < 1e-6, String(d[0].score));
  const p1 = Math.exp(5) / (Math.exp(5) + 2), s1 = 1 / (1 + Math.exp(-1));
  assert.ok(Math.abs(d[1].score - p1 * s1) < 1e-6, String(d[1].score));
  assert.deepEqual(d[1].box, [4, 4, 20, 20]);
});

Deno.test("toDetections() reads NMS triples against boxes [N, M, 4] and scores [N, C, M]", () => {
  const outputs = {
    boxes: t("f32", [2, 2, 4], [0, 0, 1, 1, 0, 0, 2, 2, 0, 0, 3, 3, 0, 0, 4, 4]),
    scores: t("f32", [2, 2, 2], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]),
    selected: t("i64", [3, 3], [0, 1, 0, 1, 0, 1, -1, -1, -1]),
  };
  const d = toDetections(outputs, resolveRoles(Object.keys(outputs)));
  assert.deepEqual(d.map((x) => [x.image, x.label, +x.score.toFixed(4), x.box]), [
    [0, 1, 0.3, [0, 0, 1, 1]],
    [1, 0, 0.6, [0, 0, 4, 4]],
  ]);
  const e = code(() =>
    toDetections(
      { ...outputs, selected: t("i64", [1, 3], [0, 5, 0]) },
      resolveRoles(Object.keys(outputs)),
    )
  );
  assert.equal(e.code, "DLM0546");
  assert.match(e.message, /triples within \[2, 2, 2\] \(row 0 is \(0, 5, 0\)\)/);
});

Deno.test("toDetections() rejects an output of the wrong shape at its declaration", () => {
  const span = { file: "m.dlm", line: 7, col: 3, endLine: 7, endCol: 20 };
  const outputs = {
    boxes: t("f32", [2, 3, 4], new Array(24).fill(0)),
    labels: t("i64", [2, 2], [0, 0, 0, 0]),
  };
  const e = code(() =>
    toDetections(outputs, resolveRoles(Object.keys(outputs)), {
      spans: new Map([["labels", span]]),
    })
  );
  assert.equal(e.code, "DLM0546");
  assert.equal(e.line, 7);
  assert.match(
    e.message,
    /Output 'labels' is i64\[2, 2\], but detections need \[2, 3\] beside boxes \[2, 3, 4\]/,
  );
  const f = code(() =>
    toDetections({ boxes: t("f32", [2, 5], new Array(10).fill(0)) }, { boxes: "boxes" })
  );
  assert.match(f.message, /boxes \[N, K, 4\] or \[N, 4\]/);
  const g = code(() =>
    toDetections(
      { boxes: t("f32", [1, 4], [0, 0, 1, 1]), labels: t("f32", [1], [0.5]) },
      { boxes: "boxes", labels: "labels" },
    )
  );
  assert.match(g.message, /integer class labels/);
});

Deno.test("toGroundTruth() reads one box an image, or padded boxes [N, M, 4]", () => {
  assert.deepEqual(
    toGroundTruth(t("f32", [2, 4], [0, 0, 16, 16, 4, 4, 20, 20]), t("i64", [2], [7, 3]), {
      boxes: "gt",
      labels: "label",
    }, 5),
    [
      { image: 5, label: 7, box: [0, 0, 16, 16] },
      { image: 6, label: 3, box: [4, 4, 20, 20] },
    ],
  );
  const padded = toGroundTruth(
    t("f32", [1, 3, 4], [1, 1, 5, 5, 0, 0, 0, 0, 2, 2, 4, 4]),
    t("i64", [1, 3], [2, 0, -1]),
    { boxes: "gt", labels: "label" },
  );
  assert.deepEqual(padded, [{ image: 0, label: 2, box: [1, 1, 5, 5] }]);
  const e = code(() =>
    toGroundTruth(t("f32", [2, 4], new Array(8).fill(1)), t("i64", [3], [0, 0, 0]), {
      boxes: "gt",
      labels: "label",
    })
  );
  assert.equal(e.code, "DLM0480");
  assert.match(
    e.message,
    /labels 'label' is i64\[3\], but needs integer labels \[2\] beside boxes 'gt' \[2, 4\]/,
  );
});

Deno.test("toDetections() reads one image's boxes [K, 4] when one image was run, and checks N otherwise", () => {
  // detection.dlm's outputs: the kept boxes and scores of its one image, class-agnostic.
  const outputs = {
    kept_boxes: t("f32", [2, 4], [0, 0, 2, 2, 1, 1, 3, 3]),
    kept_scores: t("f32", [2], [0.75, 0.5]),
  };
  const roles = resolveRoles(Object.keys(outputs));
  const d = toDetections(outputs, roles, { images: 1, firstImage: 4 });
  assert.deepEqual(d.map((x) => [x.image, x.label, x.score, x.box]), [
    [4, 0, 0.75, [0, 0, 2, 2]],
    [4, 0, 0.5, [1, 1, 3, 3]],
  ]);
  // Without knowing the images run, [2, 4] is two images of one box each.
  assert.deepEqual(toDetections(outputs, roles).map((x) => x.image), [0, 1]);
  const e = code(() => toDetections(outputs, roles, { images: 3 }));
  assert.equal(e.code, "DLM0546");
  assert.match(e.message, /for the 3 images run/);
});
