import assert from "node:assert/strict";
import { formatType } from "../../ir/graph.ts";
import { type DType, type Tensor, tensor, toNumbers } from "../../ir/tensor.ts";
import { emitModel } from "../../onnx/emit.ts";
import { runGraph } from "../../../runtime/reference/interpreter.ts";
import { createSession } from "../../../runtime/ort/mod.ts";
import { compileOk as ok, compileSource as compile } from "../testing.ts";

function errors(src: string): string[] {
  return compile(src).diagnostics.map((d) => `${d.code} ${d.message}`);
}

interface Fixture {
  inputs: Record<string, { dtype: DType; shape: number[]; data: number[] }>;
  cases: { expr: string; shape: number[]; value: number[] }[];
}

/** torch 1.13's values, made by tests/fixtures/torch/make_loss_fixtures.py. */
const FIX: Fixture = JSON.parse(
  Deno.readTextFileSync(
    new URL("../../../tests/fixtures/torch/loss_fixtures.json", import.meta.url),
  ),
);

function close(got: number[], want: number[], what: string) {
  assert.equal(got.length, want.length, what);
  got.forEach((g, i) =>
    assert.ok(
      Math.abs(g - want[i]) <= 1e-5 + 1e-4 * Math.abs(want[i]),
      `${what}[${i}]: got ${g}, want ${want[i]}`,
    )
  );
}

Deno.test("every loss matches PyTorch in the reference interpreter and onnxruntime-node", async () => {
  const decls = Object.entries(FIX.inputs).map(([k, v]) =>
    `  input ${k}: ${v.dtype}[${v.shape.join(", ")}]`
  );
  const outs = FIX.cases.map((c, i) => `  output y${i} = ${c.expr}`);
  const g = ok(`model M {\n${[...decls, ...outs].join("\n")}\n}`);
  FIX.cases.forEach((c, i) => {
    assert.equal(
      formatType(g.types.get(`y${i}`)!),
      `f32[${c.shape.join(", ")}]`,
      `type of ${c.expr}`,
    );
  });
  const feeds: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(FIX.inputs)) feeds[k] = tensor(v.dtype, v.shape, v.data);
  const ref = runGraph(g, feeds).outputs;
  const s = await createSession(emitModel(g).model);
  const ort = await s.run(feeds);
  await s.release();
  FIX.cases.forEach((c, i) => {
    close(toNumbers(ref[`y${i}`]), c.value, `${c.expr} (reference)`);
    close(toNumbers(ort[`y${i}`]), c.value, `${c.expr} (onnxruntime)`);
  });
});

Deno.test("losses work with a symbolic batch size", () => {
  const g = ok(`model M {
    input x: f32[N, 5]
    input y: i64[N]
    input z: f32[N, 5]
    output a = cross_entropy(x, y, label_smoothing: 0.1)
    output b = nt_xent(x, z)
    output c = kl_div(log_softmax(x, 1), z, reduce: "batchmean")
    output d = bce_with_logits(x, z, reduce: "none")
  }`);
  assert.deepEqual(
    g.outputs.map((o) => formatType(o.type)),
    ["f32[]", "f32[]", "f32[]", "f32[N, 5]"],
  );
  // Only standard ONNX ops.
  assert.ok(g.nodes.every((n) => !n.domain));
});

Deno.test("losses report mismatched shapes, dtypes and values in house style", () => {
  assert.deepEqual(
    errors(`model M {
      input x: f32[N, 5]
      input y: i64[N, 2]
      input z: f32[N, 4]
      input k: i32[N]
      output a = cross_entropy(x, y)
      output b = mse(x, z)
      output c = cross_entropy(x, k)
      output d = cross_entropy(x, z)
      output e = smooth_l1(x, x, beta: -1.0)
      output f = mse(x, x, reduce: "avg")
      output g = nt_xent(x, x, temperature: 0.0)
      output h = sparsity_penalty(x, rho: 1.5)
      output i = cross_entropy(x, x, axis: 2)
    }`),
    [
      "DLM0203 cross_entropy() needs class indices of shape [N] for f32[N, 5], got i64[N, 2]",
      "DLM0203 mse() needs a and b of the same shape, got f32[N, 5] and f32[N, 4]",
      "DLM0207 cross_entropy() needs an i64 class-index or a float probability target, got i32[N]",
      "DLM0203 cross_entropy() needs logits and probability target of the same shape, got f32[N, 5] and f32[N, 4]",
      "DLM0210 smooth_l1() needs beta >= 0, got -1",
      'DLM0214 mse() reduce must be one of "mean", "sum", "none", got "avg"',
      "DLM0210 nt_xent() needs temperature > 0, got 0",
      "DLM0210 sparsity_penalty() needs 0 < rho < 1, got 1.5",
      "DLM0213 cross_entropy() axis 2 is out of range for f32[N, 5]",
    ],
  );
});
