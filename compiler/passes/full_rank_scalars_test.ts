import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import type { Graph, TensorType } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { fullRankScalars } from "./full_rank_scalars.ts";
import { emitModel } from "../onnx/emit.ts";
import { createNodeSession } from "../../runtime/ort/node.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds } from "./testing.ts";

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: "f32", shape });

/** SGD's update of a 1x1 convolution's weight, w' = w - lr v, and a second reader of lr. */
function update(lrShape: number[] = []) {
  const b = new GraphBuilder("update");
  const w = b.input("w", f32(4, 3, 1, 1));
  const v = b.input("v", f32(4, 3, 1, 1));
  const lr = b.initializer("lr", tensor("f32", lrShape, [0.1]));
  const [step] = b.addNode("Mul", [lr, v], {}, { name: "scale" });
  b.output(b.addNode("Sub", [w, step], {}, { outputs: ["next"] })[0]);
  const [other] = b.addNode("Mul", [v, lr], {}, { name: "again" });
  b.output(b.addNode("Neg", [other], {}, { outputs: ["other"] })[0]);
  return b.graph;
}

const inputsOf = (g: Graph, node: string) => g.nodes.find((n) => n.name === node)!.inputs;

Deno.test("fullRankScalars() gives a constant scalar the rank of a result with a dim of 1, once per rank", () => {
  const before = update();
  const { graph, changed } = applyPass(before, fullRankScalars, { mode: "train" });
  assert.ok(changed);
  assert.deepEqual(ops(graph), ops(before));
  const [lifted] = inputsOf(graph, "scale");
  assert.notEqual(lifted, "lr");
  assert.equal(inputsOf(graph, "again")[1], lifted);
  assert.deepEqual(graph.initializers.get(lifted)!.shape, [1, 1, 1, 1]);
  assert.deepEqual([...graph.initializers.get(lifted)!.data], [Math.fround(0.1)]);
  assert.deepEqual(graph.types.get(lifted), f32(1, 1, 1, 1));
  assertSameOutputs(before, graph, randomFeeds(before, 1), { rtol: 0, atol: 0 });
  // Of shape [1] and [1, 1] alike.
  for (const shape of [[1], [1, 1]]) {
    const { graph } = applyPass(update(shape), fullRankScalars);
    assert.deepEqual(graph.initializers.get(inputsOf(graph, "scale")[0])!.shape, [1, 1, 1, 1]);
  }
});

Deno.test("fullRankScalars() reshapes a computed scalar before its first reader, once", () => {
  const b = new GraphBuilder("computed");
  const x = b.input("x", f32("N", 3, 1));
  const s = b.input("s", f32());
  const [e] = b.addNode("Exp", [s], {}, { name: "exp" });
  const [y] = b.addNode("Mul", [x, e], {}, { name: "mul" });
  const [c] = b.addNode("Greater", [y, e], {}, { name: "greater" });
  b.output(b.addNode("Where", [c, y, e], {}, { outputs: ["out"] })[0]);
  const before = b.graph;
  const { graph } = applyPass(before, fullRankScalars);
  assert.deepEqual(ops(graph), ["Exp", "Reshape", "Mul", "Greater", "Where"]);
  const r = graph.nodes[1];
  assert.equal(r.inputs[0], e);
  assert.deepEqual([...graph.initializers.get(r.inputs[1])!.data], [1n, 1n, 1n]);
  assert.equal(inputsOf(graph, "mul")[1], r.outputs[0]);
  assert.equal(inputsOf(graph, "greater")[1], r.outputs[0]);
  assert.equal(graph.nodes[4].inputs[2], r.outputs[0]);
  assertSameOutputs(before, graph, randomFeeds(before, 2, { N: 5 }), { rtol: 0, atol: 0 });
});

Deno.test("fullRankScalars() leaves results without a dim of 1, full-rank scalars and bigger operands", () => {
  const cases: [TensorType, number[], boolean][] = [
    [f32(4, 3), [], false], // no dim of 1: onnxruntime's loop runs over the whole tensor
    [f32(4, 3, 3, 3), [], false],
    [f32(4, 3, 1, 3), [], true], // spans of 3 elements: the dims after the last 1
    [f32(4, 3, 1, 1), [1, 1, 1, 1], false], // already of the result's rank
    [f32(4, 3, 1, 1), [3, 1, 1], false], // not one element
    [f32("N", "C", 1, 1), [1], true], // the other operand's dims may be symbolic
  ];
  for (const [xt, sShape, want] of cases) {
    const b = new GraphBuilder("mul");
    const x = b.input("x", xt);
    const n = sShape.reduce((a, d) => a * d, 1);
    const s = b.initializer("s", tensor("f32", sShape, Array(n).fill(0.5)));
    b.output(b.addNode("Mul", [x, s], {}, { outputs: ["y"] })[0]);
    assert.equal(applyPass(b.graph, fullRankScalars).changed, want, `[${xt.shape}] * [${sShape}]`);
  }
  // Not a broadcasting op (Expand's shape operand is no scalar to lift).
  const b = new GraphBuilder("expand");
  const one = b.initializer("one", tensor("f32", [], [1]));
  const shape = b.initializer("shape", tensor("i64", [2], [4, 1]));
  b.output(b.addNode("Expand", [one, shape], {}, { outputs: ["y"] })[0]);
  assert.ok(!applyPass(b.graph, fullRankScalars).changed);
});

Deno.test("onnxruntime-node gives the same bits with the scalar at full rank", async () => {
  const before = update();
  const { graph } = applyPass(before, fullRankScalars);
  const feeds = randomFeeds(before, 3);
  const run = async (g: Graph) => {
    const session = await createNodeSession(emitModel(g).model);
    try {
      const out = await session.run(feeds);
      return [...(out.next.data as Float32Array), ...(out.other.data as Float32Array)];
    } finally {
      await session.release();
    }
  };
  assert.deepEqual(await run(graph), await run(before));
});
