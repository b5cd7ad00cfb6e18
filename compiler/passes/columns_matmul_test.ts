/**
 * columns_matmul: a 1x1 convolution's Gemm in the columns layout, between the twin it reads and
 * the twin it writes, becomes one MatMul with the same numbers; other Gemms are left alone.
 */
import assert from "node:assert/strict";
import type { Graph } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { packedStep } from "../train/testing.ts";
import { columnsMatmul } from "./columns_matmul.ts";
import { dce } from "./dce.ts";
import { runPasses } from "./manager.ts";
import { applyPass, assertSameOutputs, randomFeeds, withTuning } from "./testing.ts";
import { columnsLayoutTuning } from "./columns_layout.ts";

const train = { mode: "train" as const };
const count = (g: Graph, op: string) => g.nodes.filter((n) => n.op === op).length;

/**
 * A twin [1, K, P] read as [K, P] by a 1x1 convolution's Gemm (and by its weight gradient's, which
 * keeps that Reshape), its result reshaped to the next twin [1, O, P].
 */
function pointwise(opts: { transB?: number; flat?: boolean } = {}): Graph {
  const K = 3, O = 4;
  const b = new GraphBuilder("g");
  const ints = (name: string, xs: number[]) => b.initializer(name, tensor("i64", [xs.length], xs));
  const t = b.input("t", { dtype: "f32", shape: [1, K, "P"] });
  const w = b.input("w", { dtype: "f32", shape: opts.transB ? [O, K] : [O, K] });
  const [cols] = b.addNode("Reshape", [t, ints("kp", [K, -1])]);
  const wIn = opts.transB ? b.addNode("Transpose", [w], { perm: [1, 0] })[0] : w;
  const [y2] = b.addNode("Gemm", [wIn, cols], opts.transB ? { transA: 1 } : {});
  const [y] = b.addNode("Reshape", [y2, ints("op", opts.flat ? [-1] : [1, O, -1])]);
  b.output(y, "y");
  // The weight gradient's product reads the same columns.
  const g = b.input("g", { dtype: "f32", shape: [O, "P"] });
  b.output(b.addNode("Gemm", [g, cols], { transB: 1 })[0], "dw");
  return b.graph;
}

Deno.test("columnsMatmul() makes a 1x1 convolution's Gemm between twins one MatMul with the same bits", () => {
  const g = pointwise();
  const after = structuredClone(g);
  assert.ok(runPasses(after, [columnsMatmul, dce], { ...train, verify: true }));
  const mm = after.nodes.filter((n) => n.op === "MatMul");
  assert.equal(mm.length, 1);
  assert.deepEqual(mm[0].inputs, ["w", "t"]);
  assert.equal(mm[0].outputs[0], "y");
  // The weight gradient's Gemm still reads the columns as [K, P].
  assert.equal(count(after, "Gemm"), 1);
  assert.equal(count(after, "Reshape"), 1);
  for (const P of [1, 5]) {
    assertSameOutputs(g, after, randomFeeds(g, P, { P }), { rtol: 0, atol: 0 });
  }
});

Deno.test("columnsMatmul() leaves a transposed Gemm and a result that is not the next twin", () => {
  assert.ok(!applyPass(pointwise({ transB: 1 }), columnsMatmul, train).changed);
  assert.ok(!applyPass(pointwise({ flat: true }), columnsMatmul, train).changed);
  assert.ok(!applyPass(pointwise(), columnsMatmul, { mode: "eval" }).changed);
});

const bottleneck = `block Layer()(x: f32[N, C, H, W]) {
  return x |> b1: batch_norm |> relu |> c1: conv2d(32, kernel: 1, bias: false)
    |> b2: batch_norm |> relu |> c2: conv2d(32, kernel: 3, pad: 1, bias: false)
    |> b3: batch_norm |> relu |> c3: conv2d(32, kernel: 1, bias: false)
}
model M {
  input x: f32[N, 32, 4, 4]
  let h = x |> l1: Layer() |> l2: Layer()
  output y: f32[N, 32, 4, 4] = h |> bt: batch_norm |> relu |> ct: conv2d(32, kernel: 3, pad: 1)
}
train M { loss = reduce_mean(y * y)  optimizer = sgd(lr: 0.1, momentum: 0.9) }`;

Deno.test("a training step's 1x1 convolutions in the columns layout are MatMuls by their twins, and the step computes the same", () => {
  const step = (minSaving: number) =>
    withTuning(columnsLayoutTuning, { minSaving }, () => packedStep(bottleneck));
  const after = step(1);
  const matmuls = after.nodes.filter((n) =>
    n.op === "MatMul" && n.name.endsWith("/columns/gemm") &&
    after.types.get(n.inputs[1])?.shape.length === 3
  );
  // l1.c3, l2.c1 and l2.c3 read twins (l1.c1 reads the model's input, in NCHW); none of their
  // Gemms is left.
  assert.deepEqual(matmuls.map((n) => n.name).sort(), [
    "l1.c3/columns/gemm",
    "l2.c1/columns/gemm",
    "l2.c3/columns/gemm",
  ]);
  // Against the step without the columns layout (whose twins the MatMuls read): the same step.
  const before = step(Infinity);
  assert.ok(!before.nodes.some((n) => n.op === "MatMul" && n.name.endsWith("/columns/gemm")));
  const feeds = randomFeeds(before, 3, { N: 4 });
  for (const [k, t] of Object.entries(feeds)) {
    if (!k.startsWith("opt:momentum:")) continue;
    feeds[k] = { ...t, data: (t.data as Float32Array).map((v) => v * 0.1) };
  }
  assertSameOutputs(before, after, feeds, { rtol: 1e-4, atol: 1e-5 });
});
