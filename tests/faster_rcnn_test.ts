/**
 * faster_rcnn_digits.dlm: its region proposal network against torchvision's
 * fasterrcnn components, its training end to end on digit canvases, the two
 * runtimes agreeing on its training steps, and its full size compiling.
 */
import assert from "node:assert/strict";
import { tensor } from "../compiler/ir/tensor.ts";
import { runGraph } from "../runtime/reference/interpreter.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { loadWeights } from "../runtime/weights.ts";
import { assertClose, compile, FIXTURES } from "./torch_fixtures.ts";
import { dlm } from "./cli_testing.ts";
import { readHistory } from "./train_history.ts";
import { writeSafetensors } from "../runtime/formats/mod.ts";
import { writeCanvases } from "./detection_canvases.ts";

interface Enc {
  shape: number[];
  data: number[];
}
const f32 = (e: Enc) => tensor("f32", e.shape, e.data);

/** torchvision 0.14's values, made by tests/fixtures/torch/make_rpn_fixtures.py. */
const RPN: Record<string, Enc> & { weights: Record<string, Enc> } = JSON.parse(
  Deno.readTextFileSync(new URL("rpn_fixtures.json", FIXTURES)),
);

Deno.test("faster_rcnn_digits.dlm's anchors, RPN head, box coder and proposal filtering match torchvision's in both runtimes", async () => {
  const g = compile(new URL("rpn_digits.dlm", FIXTURES), { model: "RpnDigits" });
  const dir = Deno.makeTempDirSync({ prefix: "dlm_rpn_test_" });
  try {
    const file = `${dir}/rpn.safetensors`;
    Deno.writeFileSync(
      file,
      writeSafetensors(Object.entries(RPN.weights).map(([k, v]) => [k, f32(v)])),
    );
    const { loaded } = loadWeights(g, file);
    assert.equal(loaded, 6);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  const feeds = { f: f32(RPN.f) };
  const ref = runGraph(g, feeds).outputs;
  const { emitModel } = await import("../compiler/onnx/emit.ts");
  const s = await createSession(emitModel(g).model);
  const ort = await s.run(feeds);
  await s.release();
  const want: [string, string][] = [
    ["anchors_out", "anchors"],
    ["objectness_out", "objectness"],
    ["deltas_out", "deltas"],
    ["decoded", "decoded"],
    ["proposals", "proposals"],
    ["scores_out", "scores"],
  ];
  for (const [out, key] of want) {
    assertClose(ref[out], f32(RPN[key]), `${out} (reference)`);
    assertClose(ort[out], f32(RPN[key]), `${out} (onnxruntime)`);
  }
});

const EXAMPLE = decodeURIComponent(
  new URL("../lang-examples/faster_rcnn_digits.dlm", import.meta.url).pathname,
);
/** A tiny configuration: 32x32 canvases of 1 or 2 digits, narrow layers, few proposals. */
const TINY = [
  ...["canvas=32", "width=8", "proposals=8", "pool=3", "hidden=32", "pre_nms=64", "detections=8"]
    .flatMap((s) => ["--set", s]),
];

Deno.test("faster_rcnn_digits.dlm trains end to end at a tiny size: both stages' losses fall, and dlm diff --train 2 agrees with RoI Align and with RoI Pool", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_frcnn_test_" });
  try {
    const small = { canvas: 32, objects: 2, sizes: [12, 16] };
    const data = writeCanvases(`${dir}/train`, {
      ...small,
      count: 300,
      digits: [0, 1500],
      seed: 1,
    });
    const r = await dlm("train", EXAMPLE, ...TINY, ...data, "--epochs", "5", "--out", `${dir}/run`);
    assert.equal(r.code, 0, r.err);
    const h = readHistory(`${dir}/run`);
    const show = JSON.stringify(h.map((e) => [e.val_rpn_loss, e.val_head_loss]));
    // From ~0.69 (an untrained objectness) and ~2.4 (log 11 classes): both stages learn.
    assert.ok(h.at(-1)!.val_rpn_loss < 0.6 * h[0].val_rpn_loss, show);
    assert.ok(h.at(-1)!.val_head_loss < 0.6 * h[0].val_head_loss, show);
    const d = await dlm("diff", EXAMPLE, ...TINY, "--train", "2", ...data);
    assert.equal(d.code, 0, d.out + d.err);
    // Fast R-CNN's RoI max pooling in place of RoI Align: its gradient in both runtimes.
    const p = await dlm("diff", EXAMPLE, ...TINY, "--set", "pooler=pool", "--train", "2", ...data);
    assert.equal(p.code, 0, p.out + p.err);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("faster_rcnn_digits.dlm compiles at full size: the model and its training step", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dlm_frcnn_full_" });
  try {
    const m = await dlm("compile", EXAMPLE, "-o", `${dir}/m.onnx`);
    assert.equal(m.code, 0, m.err);
    assert.match(m.out + m.err, /257,313 parameter elements/);
    const s = await dlm("compile", EXAMPLE, "--train", "-o", `${dir}/step.onnx`);
    assert.equal(s.code, 0, s.err);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
