import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import type { Graph, TensorType } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { dce } from "./dce.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds } from "./testing.ts";

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: "f32", shape });

/** y = Relu(x) + b, plus a dead branch Neg(x) * w and an unused input. */
function withDeadBranch(): Graph {
  const b = new GraphBuilder("dead");
  const x = b.input("x", f32(2, 3));
  b.input("unused", f32(1));
  const bias = b.initializer("fc.bias", tensor("f32", [3], [1, 2, 3]));
  const w = b.initializer("head.weight", tensor("f32", [3], [4, 5, 6]));
  b.graph.params.push(
    { name: bias, role: "bias", trainable: true },
    { name: w, role: "weight", trainable: true },
  );
  const [r] = b.addNode("Relu", [x], {}, { name: "relu" });
  const [n] = b.addNode("Neg", [x], {}, { name: "neg" });
  b.addNode("Mul", [n, w], {}, { name: "head" });
  const [y] = b.addNode("Add", [r, bias], {}, { outputs: ["y"] });
  b.output(y);
  return b.graph;
}

Deno.test("dce() drops dead nodes, their initializers, params entries and types", () => {
  const g = withDeadBranch();
  const { graph, changed, run } = applyPass(g, dce);
  assert.ok(changed);
  assert.deepEqual(ops(graph), ["Relu", "Add"]);
  assert.deepEqual(run.rewrites.map((r) => r.nodes[0]).sort(), ["head", "neg"]);
  assert.deepEqual([...graph.initializers.keys()], ["fc.bias"]);
  assert.deepEqual(graph.params.map((p) => p.name), ["fc.bias"]);
  const relu = graph.nodes[0].outputs[0];
  assert.deepEqual([...graph.types.keys()].sort(), ["fc.bias", relu, "unused", "x", "y"].sort());
  assert.deepEqual(graph.inputs.map((v) => v.name), ["x", "unused"], "inputs always stay");
  assertSameOutputs(g, graph, randomFeeds(g));
});

Deno.test("dce() keeps unused parameters of a training graph", () => {
  const { graph } = applyPass(withDeadBranch(), dce, { mode: "train", keepParams: true });
  assert.deepEqual(ops(graph), ["Relu", "Add"]);
  assert.deepEqual([...graph.initializers.keys()].sort(), ["fc.bias", "head.weight"]);
  assert.equal(graph.params.length, 2);
});

Deno.test("dce() changes nothing when every node is live", () => {
  const g = withDeadBranch();
  const once = applyPass(g, dce).graph;
  const { graph, changed } = applyPass(once, dce);
  assert.equal(changed, false);
  assert.deepEqual(ops(graph), ["Relu", "Add"]);
});
