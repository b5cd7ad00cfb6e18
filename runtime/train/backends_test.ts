import assert from "node:assert/strict";
import { compileTrain } from "../../compiler/train/mod.ts";
import { Dataset, loadDigits } from "../data/mod.ts";
import { train } from "./mod.ts";

// The step model of a .dlm train section is plain ONNX: the same model trains on onnxruntime-node,
// onnxruntime-web (WASM) and the reference interpreter, and the three agree step by step.
Deno.test("lenet_digits trains the same on onnxruntime-node, onnxruntime-web and the reference", async () => {
  // Its dropout masks are drawn by the loop (draws.ts), the same for every backend.
  const path = new URL("../../lang-examples/lenet_digits.dlm", import.meta.url).pathname;
  const c = compileTrain(path, { seed: 0 });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const all = new Dataset(loadDigits());
  const data = all.take([...Array(192).keys()]);
  const run = (backend: "node" | "web" | "reference") =>
    train({ step: c.step!, data, epochs: 1, batchSize: 32, seed: 3, backend });
  const ref = await run("reference");
  const node = await run("node");
  const web = await run("web");
  assert.equal(ref.losses.length, 6);
  // Adam moves the loss down within a few steps on every backend.
  assert.ok(ref.losses[5] < ref.losses[0], `${ref.losses}`);
  for (const [name, r] of [["node", node], ["web", web]] as const) {
    for (let i = 0; i < ref.losses.length; i++) {
      const d = Math.abs(r.losses[i] - ref.losses[i]);
      assert.ok(d < 1e-4 * Math.max(1, Math.abs(ref.losses[i])), `${name} step ${i}: ${d}`);
    }
    for (const [k, t] of ref.weights) {
      const a = t.data as Float32Array, b = r.weights.get(k)!.data as Float32Array;
      let worst = 0;
      for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(a[j] - b[j]));
      assert.ok(worst < 1e-4, `${name} ${k}: max abs difference ${worst}`);
    }
  }
});

// Backpropagation through time: the step model unrolls the LSTM into plain ops, the evaluation
// model keeps the fused node, and the example learns the digits read row by row.
Deno.test("lstm_digits trains through its unrolled LSTM and passes 90% validation accuracy", async () => {
  const c = compileTrain(
    new URL("../../lang-examples/lstm_digits.dlm", import.meta.url).pathname,
    { seed: 0 },
  );
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  assert.equal(c.step!.nodes.filter((n) => n.op === "LSTM").length, 0);
  assert.equal(c.eval!.nodes.filter((n) => n.op === "LSTM").length, 1);
  const { train: data, val } = new Dataset(loadDigits()).split(0.2, { seed: 0 });
  const r = await train({
    step: c.step!,
    eval: c.eval!,
    data,
    val,
    epochs: 6,
    batchSize: 32,
    seed: 0,
    backend: "node",
  });
  const last = r.history.at(-1)!.values;
  assert.ok(last.val_accuracy > 0.9, `val_accuracy ${last.val_accuracy}`);
  assert.ok(r.history[0].values.loss > last.loss);
});
