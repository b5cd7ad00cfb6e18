/**
 * `stop_gradient(x)` / `detach(x)` as a user writes them: one SGD step
 * leaves the parameters behind the stopped value unchanged (and changes
 * them without it), the step agrees between the reference interpreter and
 * onnxruntime, and a compiled model holds only standard ONNX ops.
 */
import assert from "node:assert/strict";
import { compileFile } from "../compiler/compile.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import type { Graph } from "../compiler/ir/graph.ts";
import { type Tensor, tensor, zeros } from "../compiler/ir/tensor.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { prepareInputs } from "../runtime/inputs.ts";
import { diffGraph } from "../runtime/diff/diff.ts";
import { diffTrain, formatTrainDiff } from "../runtime/diff/train_diff.ts";

/** Two linear layers, `a` then `b`, with `wrap` around a's output. */
const src = (wrap: (v: string) => string) => `
model M {
  input x: f32[N, 4]
  output y = ${wrap("x |> a: linear(3)")} |> b: linear(2)
}
train M {
  input t: f32[N, 2]
  loss = mse(y, t)
  optimizer = sgd(lr: 0.5)
}
`;

/** Feeds for one step: random batch, state from the initializers, step 0. */
function feeds(g: Graph): Record<string, Tensor> {
  const sub = { ...g, inputs: g.inputs.filter((i) => i.name === "x" || i.name === "t") };
  const out: Record<string, Tensor> = prepareInputs(sub, { seed: 1, dims: { N: 4 } });
  for (const i of g.inputs) {
    if (i.name in out) continue;
    if (i.name === "step") out[i.name] = tensor("i64", [], [0]);
    else out[i.name] = g.initializers.get(i.name) ?? zeros(i.type.dtype, i.type.shape as number[]);
  }
  return out;
}

/** Which of a's and b's weights one SGD step changes. */
function changed(text: string): Record<string, boolean> {
  const c = compileTrain("m.dlm", { read: () => text });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const g = c.step!;
  const f = feeds(g);
  const out = runGraph(g, f).outputs;
  const moved = (p: string) =>
    Array.from(out[`next:${p}`].data as Float32Array).some((v, k) =>
      v !== (f[p].data as Float32Array)[k]
    );
  return { a: moved("a.weight"), b: moved("b.weight") };
}

Deno.test("stop_gradient and detach leave the layers before them unchanged by a step", () => {
  assert.deepEqual(changed(src((v) => v)), { a: true, b: true });
  assert.deepEqual(changed(src((v) => `stop_gradient(${v})`)), { a: false, b: true });
  assert.deepEqual(changed(src((v) => `detach(${v})`)), { a: false, b: true });
});

Deno.test("a step through stop_gradient agrees between the runtimes", async () => {
  const c = compileTrain("m.dlm", { read: () => src((v) => `${v} |> stop_gradient()`) });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  // The step differentiates and is emitted with the node (as an Identity); the eval graph drops it.
  assert.ok(c.step!.nodes.some((n) => n.op === "StopGradient"));
  assert.ok(!c.eval!.nodes.some((n) => n.op === "StopGradient"));
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "node" as const, steps: 2, batchSize: 4 };
  const r = await diffTrain(c.step!, opts);
  assert.equal(r.ok, true, formatTrainDiff(r, opts));
});

Deno.test("a model with detach() runs in onnxruntime as standard ONNX", async () => {
  const r = compileFile("m.dlm", {
    read: () =>
      `model M {
      input x: f32[N, 4]
      output y = x |> a: linear(3) |> detach() |> relu
      output z = stop_gradient(x)
    }`,
  });
  assert.deepEqual(r.diagnostics, []);
  const g = r.graph!;
  const x = tensor("f32", [2, 4], [1, -2, 3, -4, 0.5, 0, -1, 2]);
  const d = await diffGraph(g, { x }, { rtol: 1e-5, atol: 1e-6, backend: "node" });
  assert.ok(d.ok, JSON.stringify(d.outputs));
  assert.deepEqual(runGraph(g, { x }).outputs.z.data, x.data);
});
