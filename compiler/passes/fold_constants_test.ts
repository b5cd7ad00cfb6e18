import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import type { TensorType } from "../ir/graph.ts";
import { tensor, toNumbers } from "../ir/tensor.ts";
import { foldConstants } from "./fold_constants.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds } from "./testing.ts";

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: "f32", shape });

/** y = x + (Constant(2) * Neg(w)) with w = [1, 2, 3]. */
function constantBranch() {
  const b = new GraphBuilder("consts");
  const x = b.input("x", f32("N", 3));
  const w = b.initializer("w", tensor("f32", [3], [1, 2, 3]));
  const [two] = b.addNode("Constant", [], { value: tensor("f32", [], [2]) }, { name: "two" });
  const [neg] = b.addNode("Neg", [w], {}, { name: "neg" });
  const [scaled] = b.addNode("Mul", [two, neg], {}, { name: "scaled" });
  const [y] = b.addNode("Add", [x, scaled], {}, { outputs: ["y"] });
  b.output(y);
  return { graph: b.graph, scaled };
}

Deno.test("foldConstants() replaces a constant subexpression by an initializer of the same name", () => {
  const { graph: g, scaled } = constantBranch();
  const { graph, changed, run } = applyPass(g, foldConstants);
  assert.ok(changed);
  assert.equal(run.fired, 3);
  assert.deepEqual(ops(graph), ["Add"]);
  assert.deepEqual(graph.nodes[0].inputs, ["x", scaled]);
  assert.deepEqual(toNumbers(graph.initializers.get(scaled)!), [-2, -4, -6]);
  assert.deepEqual(graph.types.get(scaled), f32(3));
  assertSameOutputs(g, graph, randomFeeds(g, 1, { N: 4 }));
});

Deno.test("foldConstants() treats parameters as variables when keepParams is set", () => {
  const { graph: g } = constantBranch();
  g.params.push({ name: "w", role: "weight", trainable: true });
  const { graph } = applyPass(g, foldConstants, { mode: "train", keepParams: true });
  // Only the Constant node folds; Neg(w) and what follows depend on a trainable w.
  assert.deepEqual(ops(graph), ["Neg", "Mul", "Add"]);
  assertSameOutputs(g, graph, randomFeeds(g));
});

Deno.test("foldConstants() does not fold random ops", () => {
  const b = new GraphBuilder("random");
  const c = b.initializer("c", tensor("f32", [2], [1, 2]));
  const [r] = b.addNode("RandomUniformLike", [c]);
  const [y] = b.addNode("Add", [r, c], {}, { outputs: ["y"] });
  b.output(y);
  const { graph, changed } = applyPass(b.graph, foldConstants);
  assert.equal(changed, false);
  assert.deepEqual(ops(graph), ["RandomUniformLike", "Add"]);
});

Deno.test("foldConstants() does not fold dropout in train mode", () => {
  const b = new GraphBuilder("dropout");
  const c = b.initializer("c", tensor("f32", [2], [1, 2]));
  const [d] = b.addNode("Dropout", [c], {}, { nOutputs: 1 });
  const [y] = b.addNode("Relu", [d], {}, { outputs: ["y"] });
  b.output(y);
  assert.deepEqual(ops(applyPass(b.graph, foldConstants, { mode: "train" }).graph), [
    "Dropout",
    "Relu",
  ]);
});

Deno.test("foldConstants() does not expand a small constant into a large one", () => {
  const b = new GraphBuilder("expand");
  const x = b.input("x", f32(1024, 1024));
  const shape = b.initializer("shape", tensor("i64", [2], [1024, 1024]));
  const [big] = b.addNode("ConstantOfShape", [shape], { value: tensor("f32", [1], [1]) });
  const [y] = b.addNode("Add", [x, big], {}, { outputs: ["y"] });
  b.output(y);
  const { graph, changed } = applyPass(b.graph, foldConstants);
  assert.equal(changed, false);
  assert.deepEqual(ops(graph), ["ConstantOfShape", "Add"]);
});

Deno.test("foldConstants() folds a small ConstantOfShape", () => {
  const b = new GraphBuilder("small");
  const x = b.input("x", f32(2, 3));
  const shape = b.initializer("shape", tensor("i64", [2], [2, 3]));
  const [c] = b.addNode("ConstantOfShape", [shape], { value: tensor("f32", [1], [0.5]) });
  const [y] = b.addNode("Mul", [x, c], {}, { outputs: ["y"] });
  b.output(y);
  const { graph } = applyPass(b.graph, foldConstants);
  assert.deepEqual(ops(graph), ["Mul"]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph));
});

Deno.test("foldConstants() leaves a node that defines a graph output", () => {
  const b = new GraphBuilder("out");
  const w = b.initializer("w", tensor("f32", [2], [1, 2]));
  const [y] = b.addNode("Neg", [w], {}, { outputs: ["y"] });
  b.output(y);
  assert.equal(applyPass(b.graph, foldConstants).changed, false);
});
