import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import type { TensorType } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { fuseGemmAccumulate } from "./fuse_gemm_accumulate.ts";
import { emitModel } from "../onnx/emit.ts";
import { createNodeSession } from "../../runtime/ort/node.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds } from "./testing.ts";

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: "f32", shape });

/** SGD's momentum update v' = mu v + dW, dW a Gemm reshaped to a weight's [4, 2, 3]. */
function momentum(opts: { mu?: number; shared?: boolean; reshape?: boolean } = {}) {
  const b = new GraphBuilder("momentum");
  const a = b.input("a", f32(4, 5));
  const c = b.input("c", f32(6, 5));
  const reshape = opts.reshape ?? true;
  const v = b.input("v", reshape ? f32(4, 2, 3) : f32(4, 6));
  const mu = b.initializer("mu", tensor("f32", [], [opts.mu ?? 0.9]));
  const [dw] = b.addNode("Gemm", [a, c], { transB: 1, alpha: 0.5 }, { name: "dw" });
  const grad = reshape
    ? b.addNode("Reshape", [dw, b.initializer("shape", tensor("i64", [3], [4, 2, 3]))])[0]
    : dw;
  const [scaled] = b.addNode("Mul", [v, mu]);
  const [next] = b.addNode("Add", [grad, scaled], {}, { outputs: ["next"] });
  b.output(next);
  if (opts.shared) b.output(b.addNode("Neg", [dw], {}, { outputs: ["other"] })[0]);
  return b.graph;
}

Deno.test("fuseGemmAccumulate() folds v mu + Reshape(Gemm) into the Gemm's C with beta mu", () => {
  const before = momentum();
  const { graph, changed } = applyPass(before, fuseGemmAccumulate);
  assert.ok(changed);
  assert.deepEqual(ops(graph), ["Reshape", "Gemm", "Reshape"]);
  const gemm = graph.nodes[1];
  assert.equal(gemm.name, "dw");
  assert.equal(gemm.inputs[2], graph.nodes[0].outputs[0]);
  assert.deepEqual(gemm.attrs, { transB: 1, alpha: 0.5, beta: Math.fround(0.9) });
  assert.deepEqual(graph.nodes[2].outputs, ["next"]);
  assertSameOutputs(before, graph, randomFeeds(before, 1));
});

Deno.test("fuseGemmAccumulate() folds a Gemm of the update's own shape without a Reshape", () => {
  const before = momentum({ reshape: false });
  const { graph } = applyPass(before, fuseGemmAccumulate);
  assert.deepEqual(ops(graph), ["Gemm"]);
  assert.deepEqual(graph.nodes[0].inputs, ["a", "c", "v"]);
  assert.deepEqual(graph.nodes[0].outputs, ["next"]);
  assertSameOutputs(before, graph, randomFeeds(before, 2));
});

Deno.test("fuseGemmAccumulate() leaves a Gemm whose product is read elsewhere, and a scale f32 cannot hold", () => {
  assert.ok(!applyPass(momentum({ shared: true }), fuseGemmAccumulate).changed);
  const b = new GraphBuilder("f64");
  const a = b.input("a", { dtype: "f64", shape: [2, 3] });
  const v = b.input("v", { dtype: "f64", shape: [2, 2] });
  const [dw] = b.addNode("Gemm", [a, a], { transB: 1 });
  const [s] = b.addNode("Mul", [v, b.initializer("mu", tensor("f64", [], [0.9]))]);
  b.output(b.addNode("Add", [s, dw], {}, { outputs: ["next"] })[0]);
  assert.ok(!applyPass(b.graph, fuseGemmAccumulate).changed);
});

Deno.test("onnxruntime-node's Gemm with C and beta gives the Mul and Add it replaces", async () => {
  const before = momentum();
  const { graph } = applyPass(before, fuseGemmAccumulate);
  const feeds = randomFeeds(before, 3);
  const run = async (g: typeof before) => {
    const session = await createNodeSession(emitModel(g).model);
    try {
      return (await session.run(feeds)).next.data as Float32Array;
    } finally {
      await session.release();
    }
  };
  const [want, got] = [await run(before), await run(graph)];
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= 1e-6 * (1 + Math.abs(want[i])), `next[${i}]`);
  }
});
