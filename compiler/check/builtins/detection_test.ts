import assert from "node:assert/strict";
import { type DType, type Tensor, tensor, toNumbers } from "../../ir/tensor.ts";
import { emitModel } from "../../onnx/emit.ts";
import { runGraph } from "../../../runtime/reference/interpreter.ts";
import { createSession } from "../../../runtime/ort/mod.ts";
import { compileTrain } from "../../train/mod.ts";
import { diffTrain, formatTrainDiff } from "../../../runtime/diff/train_diff.ts";
import { compileOk as ok, compileSource as compile } from "../testing.ts";

interface Encoded {
  dtype: DType;
  shape: number[];
  data: number[];
}

/** torchvision 0.14's values, made by tests/fixtures/torch/make_detection_fixtures.py. */
const FIX: { inputs: Record<string, Encoded>; cases: (Encoded & { expr: string })[] } = JSON.parse(
  Deno.readTextFileSync(
    new URL("../../../tests/fixtures/torch/detection_fixtures.json", import.meta.url),
  ),
);

function close(got: number[], want: number[], what: string) {
  assert.equal(got.length, want.length, `${what}: ${got.length} values, want ${want.length}`);
  got.forEach((g, i) =>
    assert.ok(
      Math.abs(g - want[i]) <= 1e-4 + 1e-4 * Math.abs(want[i]),
      `${what}[${i}]: got ${g}, want ${want[i]}`,
    )
  );
}

Deno.test("the detection built-ins match torchvision in the reference interpreter and onnxruntime-node", async () => {
  const decls = Object.entries(FIX.inputs).map(([k, v]) =>
    `  input ${k}: ${v.dtype}[${v.shape.join(", ")}]`
  );
  const outs = FIX.cases.map((c, i) => `  output y${i} = ${c.expr}`);
  const g = ok(`model M {\n${[...decls, ...outs].join("\n")}\n}`);
  const feeds: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(FIX.inputs)) feeds[k] = tensor(v.dtype, v.shape, v.data);
  const ref = runGraph(g, feeds).outputs;
  const s = await createSession(emitModel(g).model);
  const ort = await s.run(feeds);
  await s.release();
  FIX.cases.forEach((c, i) => {
    assert.equal(ref[`y${i}`].dtype, c.dtype, c.expr);
    assert.deepEqual(ref[`y${i}`].shape, c.shape, c.expr);
    close(toNumbers(ref[`y${i}`]), c.data, `${c.expr} (reference)`);
    close(toNumbers(ort[`y${i}`]), c.data, `${c.expr} (onnxruntime)`);
  });
});

Deno.test("box_iou differentiates: an IoU loss on learned box offsets trains, both runtimes agreeing", async () => {
  const src = `model M {
  input q: f32[N, 4]
  // Predicted boxes: the targets, moved by a learned offset that starts away from zero.
  output p: f32[N, 4] = q + param((4,), name: "offset", init: constant(0.5))
}
train M {
  loss = reduce_mean(1.0 - box_iou(unsqueeze(p, 1), unsqueeze(q, 1)))
  optimizer = sgd(lr: 0.5)
}`;
  const c = compileTrain("m.dlm", { read: () => src });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 4 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
});

Deno.test("detection built-ins report bad arguments at the call", () => {
  const errs = (body: string) =>
    compile(`model M {\n  input b: f32[N, 4]\n  input s: f32[N]\n  input c: f32[N, 3]\n${body}\n}`)
      .diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.message}`);
  assert.match(
    errs("  output y = box_iou(b, c)")[0],
    /DLM0203 box_iou\(\) needs b as f32\[\.\.\., 4\] boxes/,
  );
  assert.match(
    errs("  output y = generalized_box_iou(b, unsqueeze(b, 0))")[0],
    /DLM0203 generalized_box_iou\(\) needs a \[\.\.\., M, 4\] and b \[\.\.\., K, 4\] of the same rank/,
  );
  assert.match(
    errs("  output y = nms(b, c)")[0],
    /DLM0203 nms\(\) needs boxes \[N, 4\] with scores f32\[N\]/,
  );
  assert.match(errs("  output y = nms(b, s, iou: 1.5)")[0], /DLM0210 nms\(\) needs 0 <= iou <= 1/);
  assert.match(
    errs("  output y = anchors(sizes: (0,), ratios: 1.0, grid: 2, stride: 4)")[0],
    /DLM0210 anchors\(\) needs positive sizes and ratios/,
  );
  assert.match(
    errs("  output y = roi_pool(b, b, output: (0, 2))")[0],
    /DLM0210 roi_pool\(\) needs output: a positive size or \(h, w\)/,
  );
  assert.match(
    errs("  output y = roi_pool(b, c, output: 2)")[0],
    /DLM0203 roi_pool\(\) needs rois as f32\[\.\.\., 4\] boxes/,
  );
  // Boxes that do not broadcast are a shape error at the call, not a crash.
  const shapes = compile(
    "model M {\n  input a: f32[3, 4]\n  input z: f32[5, 4]\n  output y = encode_boxes(a, z)\n}",
  ).diagnostics.map((d) => d.code);
  assert.deepEqual(shapes, ["DLM0204"]);
  assert.match(
    errs("  output y = decode_boxes(b, b, weights: (1.0, 2.0))")[0],
    /DLM0210 decode_boxes\(\) needs weights: four positive numbers/,
  );
});

/** torchvision 0.14's values and gradients, made by tests/fixtures/torch/make_roi_grad_fixtures.py. */
const ROI: {
  inputs: Record<string, Encoded>;
  cases: { expr: string; weight: string; y: Encoded; dx: Encoded }[];
} = JSON.parse(
  Deno.readTextFileSync(
    new URL("../../../tests/fixtures/torch/roi_grad_fixtures.json", import.meta.url),
  ),
);

Deno.test("roi_align and roi_pool and their gradients match torchvision in both runtimes", async () => {
  const decls = Object.entries(ROI.inputs).map(([k, v]) =>
    `  input ${k}: ${v.dtype}[${v.shape.join(", ")}]`
  );
  const outs = ROI.cases.flatMap((c, i) => [
    `  output y${i} = ${c.expr}`,
    `  output dx${i} = grad(reduce_sum(${c.expr} * ${c.weight}), wrt: x)`,
  ]);
  const g = ok(`model M {\n${[...decls, ...outs].join("\n")}\n}`);
  const feeds: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(ROI.inputs)) feeds[k] = tensor(v.dtype, v.shape, v.data);
  const ref = runGraph(g, feeds).outputs;
  const s = await createSession(emitModel(g).model);
  const ort = await s.run(feeds);
  await s.release();
  ROI.cases.forEach((c, i) => {
    for (const [name, want] of [[`y${i}`, c.y], [`dx${i}`, c.dx]] as const) {
      assert.deepEqual(ref[name].shape, want.shape, `${name} = ${c.expr}`);
      close(toNumbers(ref[name]), want.data, `${name} = ${c.expr} (reference)`);
      close(toNumbers(ort[name]), want.data, `${name} = ${c.expr} (onnxruntime)`);
    }
  });
});

Deno.test("roi_align's gradient asks for a fixed sampling_ratio, located at the call", () => {
  const r = compile(`model M {
  input x: f32[1, 2, 6, 6]
  input r: f32[3, 4]
  output g = grad(reduce_sum(roi_align(x, r, output: 2)), wrt: x)
}`);
  const e = r.diagnostics.filter((d) => d.severity === "error");
  assert.equal(e.length, 1);
  assert.equal(e[0].code, "DLM0417");
  assert.match(e[0].message, /fixed sampling_ratio > 0/);
  assert.equal(e[0].span?.line, 4);
});

/** torchvision's generalized_box_iou and torch.autograd's gradients, by make_giou_fixtures.py. */
const GIOU: Record<string, { shape: number[]; data: number[] }> = JSON.parse(
  Deno.readTextFileSync(
    new URL("../../../tests/fixtures/torch/giou_fixtures.json", import.meta.url),
  ),
);

const GIOU_MODEL = `model M {
  input a: f32[5, 4]
  input b: f32[3, 4]
  input w: f32[5, 3]
  output giou = generalized_box_iou(a, b)
  output y = reduce_sum(giou * w)
  let (ga, gb) = grad(y, wrt: (a, b))
  output grad_a = ga
  output grad_b = gb
}`;

Deno.test("generalized_box_iou and its gradient match torchvision and torch.autograd in both runtimes", async () => {
  const g = ok(GIOU_MODEL);
  const feeds: Record<string, Tensor> = {};
  for (const k of ["a", "b", "w"]) feeds[k] = tensor("f32", GIOU[k].shape, GIOU[k].data);
  const ref = runGraph(g, feeds).outputs;
  const s = await createSession(emitModel(g).model);
  const ort = await s.run(feeds);
  await s.release();
  for (const k of ["giou", "grad_a", "grad_b"]) {
    assert.deepEqual(ref[k].shape, GIOU[k].shape, k);
    close(toNumbers(ref[k]), GIOU[k].data, `${k} (reference)`);
    close(toNumbers(ort[k]), GIOU[k].data, `${k} (onnxruntime)`);
  }
});

Deno.test("generalized_box_iou's gradient matches central finite differences", () => {
  const g = ok(GIOU_MODEL);
  const feeds: Record<string, Tensor> = {};
  for (const k of ["a", "b", "w"]) feeds[k] = tensor("f32", GIOU[k].shape, GIOU[k].data);
  const { outputs } = runGraph(g, feeds);
  const eps = 1e-2;
  for (const [x, gname] of [["a", "grad_a"], ["b", "grad_b"]]) {
    const base = Float32Array.from(GIOU[x].data);
    base.forEach((_, i) => {
      const at = (d: number) => {
        const data = base.slice();
        data[i] += d;
        const f = { ...feeds, [x]: tensor("f32", GIOU[x].shape, data) };
        return runGraph(g, f).outputs.y.data[0] as number;
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      const analytic = outputs[gname].data[i] as number;
      assert.ok(
        Math.abs(numeric - analytic) <= 2e-3 + 2e-2 * Math.abs(numeric),
        `d y / d ${x}[${i}]: ${analytic} by the gradient rule, ${numeric} by finite differences`,
      );
    });
  }
});

Deno.test("a GIoU loss trains learned box offsets, both runtimes agreeing over 2 steps", async () => {
  const src = `model M {
  input q: f32[N, 4]
  output p: f32[N, 4] = q + param((4,), name: "offset", init: constant(3.0))
}
train M {
  loss = reduce_mean(1.0 - generalized_box_iou(unsqueeze(p, 1), unsqueeze(q, 1)))
  optimizer = sgd(lr: 0.5)
}`;
  const c = compileTrain("m.dlm", { read: () => src });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 4 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
});

Deno.test("roi pooling's spatial_scale and sampling_ratio are checked at the argument, not by onnxruntime at the step", () => {
  // spatial_scale 0 or below was DLM0415 when onnxruntime loaded MaxRoiPool; sampling_ratio
  // 1000000 was std::bad_alloc in RoiAlign's table of h w ratio^2 sample points a roi.
  const errs = (call: string) =>
    compile(
      `model M {\n  input x: f32[N, 3, 8, 16]\n  input r: f32[K, 4]\n  output y = ${call}\n}`,
    ).diagnostics.filter((d) => d.severity === "error").map((d) =>
      `${d.code} ${d.span?.line}:${d.span?.col} ${d.message}`
    );
  assert.deepEqual(errs("roi_pool(x, r, output: 2, spatial_scale: 0.0)"), [
    "DLM0210 4:40 roi_pool() spatial_scale needs a finite spatial_scale > 0, got 0",
  ]);
  assert.deepEqual(errs("roi_align(x, r, output: 2, spatial_scale: -0.5)"), [
    "DLM0210 4:41 roi_align() spatial_scale needs a finite spatial_scale > 0, got -0.5",
  ]);
  assert.deepEqual(errs("roi_align(x, r, output: 2, sampling_ratio: 1000000)"), [
    "DLM0210 4:41 roi_align() sampling_ratio needs 0 <= sampling_ratio <= 16 (0 is adaptive, torchvision's -1; at most the feature map's larger side), got 1000000",
  ]);
  assert.match(errs("roi_align(x, r, output: 2, sampling_ratio: -1)")[0], /got -1$/);
  for (
    const ok of ["roi_align(x, r, output: 2, sampling_ratio: 16)", "roi_pool(x, r, output: 2)"]
  ) {
    assert.deepEqual(errs(ok), []);
  }
});

Deno.test("roi_pool without batch_indices pools every roi from image 0, as with zeros given", () => {
  // Its column of zeros had no static shape, and the call was refused as DLM0227.
  const src = (extra: string) =>
    `model M {\n  input x: f32[N, 1, 4, 4]\n  input r: f32[K, 4]\n  input b: i64[K]\n` +
    `  output y = roi_pool(x, r, output: 2${extra})\n}`;
  const x = tensor("f32", [2, 1, 4, 4], [...Array(32).keys()].map((v) => (v * 7) % 11));
  const r = tensor("f32", [2, 4], [0, 0, 3, 3, 1, 1, 2, 3]);
  const b = tensor("i64", [2], [0, 0]);
  const plain = runGraph(ok(src("")), { x, r, b }).outputs.y;
  const given = runGraph(ok(src(", batch_indices: b")), { x, r, b }).outputs.y;
  assert.deepEqual(plain.shape, [2, 1, 2, 2]);
  assert.deepEqual(toNumbers(plain), toNumbers(given));
});
