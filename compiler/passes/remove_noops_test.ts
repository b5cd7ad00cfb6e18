import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import type { Graph, TensorType } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { register } from "../ops/op_def.ts";
import { removeNoops } from "./remove_noops.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds } from "./testing.ts";

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: "f32", shape });

// A test-only op with the "eval-noop" nature (like stochastic depth at inference).
register({
  op: "SkipInEval",
  domain: "dlm.test",
  since: 1,
  inputs: [{ name: "x" }],
  outputs: [{ name: "y" }],
  attrs: {},
  nature: ["eval-noop"],
  infer: (ctx) => [ctx.inputs[0]!],
});

/** Relu, then one of every no-op this pass knows, then Relu again. */
function chainOfNoops(): Graph {
  const b = new GraphBuilder("noops");
  const x = b.input("x", f32(2, 3));
  const [r] = b.addNode("Relu", [x], {}, { name: "first" });
  const [i] = b.addNode("Identity", [r]);
  const [d] = b.addNode("Dropout", [i], {}, { nOutputs: 1 });
  const [t] = b.addNode("Transpose", [d], { perm: [0, 1] });
  const [c] = b.addNode("Cast", [t], { to: 1 });
  const [m] = b.addNode("Mul", [c, b.initializer("one", tensor("f32", [], [1]))]);
  const [a] = b.addNode("Add", [b.initializer("zero", tensor("f32", [1], [0])), m]);
  const [s] = b.addNode("Sub", [a, b.initializer("zero_too", tensor("f32", [], [0]))]);
  const [q] = b.addNode("Div", [s, b.initializer("one_too", tensor("f32", [1, 1], [1]))]);
  const [rs] = b.addNode("Reshape", [q, b.initializer("shape", tensor("i64", [2], [2, 3]))]);
  const [f] = b.addNode("Flatten", [rs], { axis: 1 });
  const [p] = b.addNode("Pad", [f, b.initializer("pads", tensor("i64", [4], [0, 0, 0, 0]))]);
  const [cc] = b.addNode("Concat", [p], { axis: 1 });
  const eye = (n: number) =>
    tensor("f32", [n, n], Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0)));
  const [mm] = b.addNode("MatMul", [cc, b.initializer("eye3", eye(3))]);
  const [mm2] = b.addNode("MatMul", [b.initializer("eye2", eye(2)), mm]);
  const [sk] = b.addNode("SkipInEval", [mm2], {}, { domain: "dlm.test" });
  const [y] = b.addNode("Relu", [sk], {}, { name: "last", outputs: ["y"] });
  b.output(y);
  return b.graph;
}

Deno.test("removeNoops() removes every kind of no-op between two nodes", () => {
  const g = chainOfNoops();
  const { graph, changed, run } = applyPass(g, removeNoops);
  assert.ok(changed);
  assert.deepEqual(ops(graph), ["Relu", "Relu"]);
  assert.deepEqual(graph.nodes[1].inputs, [graph.nodes[0].outputs[0]]);
  assert.deepEqual(graph.outputs.map((v) => v.name), ["y"]);
  assert.equal(run.fired, 15);
});

Deno.test("removeNoops() leaves the numbers unchanged", () => {
  const g = chainOfNoops();
  g.nodes = g.nodes.filter((n) => n.op !== "SkipInEval"); // no kernel for the test-only op
  g.nodes[g.nodes.length - 1].inputs = [g.nodes[g.nodes.length - 2].outputs[0]];
  const { graph } = applyPass(g, removeNoops);
  assert.deepEqual(ops(graph), ["Relu", "Relu"]);
  assertSameOutputs(g, graph, randomFeeds(g, 7));
});

Deno.test("removeNoops() keeps a graph output's name by renaming the producer", () => {
  const b = new GraphBuilder("out");
  const x = b.input("x", f32(2, 3));
  const [r] = b.addNode("Relu", [x], {}, { name: "relu" });
  const [y] = b.addNode("Identity", [r], {}, { outputs: ["y"] });
  b.output(y);
  const { graph } = applyPass(b.graph, removeNoops);
  assert.deepEqual(ops(graph), ["Relu"]);
  assert.deepEqual(graph.nodes[0].outputs, ["y"]);
  assert.ok(!graph.types.has(r));
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph));
});

Deno.test("removeNoops() removes reshapes that keep symbolic dims", () => {
  const b = new GraphBuilder("sym");
  const x = b.input("x", f32("N", 3));
  const [r1] = b.addNode("Reshape", [x, b.initializer("s1", tensor("i64", [2], [-1, 3]))]);
  const [f] = b.addNode("Flatten", [r1]);
  const [r2] = b.addNode("Reshape", [f, b.initializer("s2", tensor("i64", [2], [0, 3]))]);
  const [y] = b.addNode("Relu", [r2], {}, { outputs: ["y"] });
  b.output(y);
  const { graph } = applyPass(b.graph, removeNoops);
  assert.deepEqual(ops(graph), ["Relu"]);
  assert.deepEqual(graph.nodes[0].inputs, ["x"]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 3, { N: 5 }));
});

Deno.test("removeNoops() keeps nodes that are not no-ops", () => {
  const b = new GraphBuilder("keep");
  const x = b.input("x", f32(3, 3));
  const v = b.input("v", f32(3));
  const [t] = b.addNode("Transpose", [x], { perm: [1, 0] }); // same type, not the identity
  const [m] = b.addNode("Mul", [t, b.initializer("two", tensor("f32", [], [2]))]);
  // Multiplying by a [1, 1] one broadcasts v up to rank 2: not shape-preserving.
  const [u] = b.addNode("Mul", [v, b.initializer("ones", tensor("f32", [1, 1], [1]))]);
  const [a] = b.addNode("Add", [m, b.initializer("almost", tensor("f32", [], [1e-30]))]);
  const [rs] = b.addNode("Reshape", [a, b.initializer("s", tensor("i64", [2], [1, 9]))]);
  const [d, mask] = b.addNode("Dropout", [rs], {}, { nOutputs: 2 });
  // A permutation matrix is not the identity.
  const perm = b.initializer("perm", tensor("f32", [3, 3], [0, 1, 0, 1, 0, 0, 0, 0, 1]));
  const [p] = b.addNode("MatMul", [x, perm]);
  b.output(d);
  b.output(mask);
  b.output(u);
  b.output(p);
  const { graph, changed } = applyPass(b.graph, removeNoops);
  assert.equal(changed, false);
  assert.deepEqual(ops(graph), ops(b.graph));
});

Deno.test("removeNoops() keeps an Identity from a graph input to a graph output", () => {
  const b = new GraphBuilder("passthrough");
  const x = b.input("x", f32(2));
  const [y] = b.addNode("Identity", [x], {}, { outputs: ["y"] });
  b.output(y);
  const { graph, changed } = applyPass(b.graph, removeNoops);
  assert.equal(changed, false);
  assert.deepEqual(ops(graph), ["Identity"]);
});

Deno.test("removeNoops() keeps dropout in train mode and when training_mode is true", () => {
  const build = (trainingMode?: boolean) => {
    const b = new GraphBuilder("dropout");
    const x = b.input("x", f32(4));
    const inputs = [x];
    if (trainingMode !== undefined) {
      inputs.push(b.initializer("ratio", tensor("f32", [], [0.5])));
      inputs.push(b.initializer("training", tensor("bool", [], [trainingMode ? 1 : 0])));
    }
    const [d] = b.addNode("Dropout", inputs, {}, { nOutputs: 1 });
    const [y] = b.addNode("Relu", [d], {}, { outputs: ["y"] });
    b.output(y);
    return b.graph;
  };
  assert.deepEqual(ops(applyPass(build(), removeNoops, { mode: "train" }).graph), [
    "Dropout",
    "Relu",
  ]);
  assert.deepEqual(ops(applyPass(build(true), removeNoops).graph), ["Dropout", "Relu"]);
  assert.deepEqual(ops(applyPass(build(false), removeNoops).graph), ["Relu"]);
});

Deno.test("removeNoops() keeps eval-noop ops in train mode but removes Identity", () => {
  const { graph } = applyPass(chainOfNoops(), removeNoops, { mode: "train" });
  assert.deepEqual(ops(graph), ["Relu", "Dropout", "SkipInEval", "Relu"]);
});

Deno.test("removeNoops() removes a transpose that undoes another, and keeps one that does not", () => {
  const b = new GraphBuilder("transposes");
  const x = b.input("x", f32(2, 3, 4));
  const [r] = b.addNode("Relu", [x]);
  const [t1] = b.addNode("Transpose", [r], { perm: [1, 2, 0] }); // [3, 4, 2]
  const [back] = b.addNode("Transpose", [t1], { perm: [2, 0, 1] }); // [2, 3, 4] again
  const [other] = b.addNode("Transpose", [t1], { perm: [1, 0, 2] }); // [4, 3, 2]: not an undo
  const [rev] = b.addNode("Transpose", [r]); // default perm: [4, 3, 2]
  const [revBack] = b.addNode("Transpose", [rev]); // reversed twice
  b.output(b.addNode("Relu", [back])[0], "a");
  b.output(b.addNode("Relu", [other])[0], "b");
  b.output(b.addNode("Relu", [revBack])[0], "c");
  const before = structuredClone(b.graph);
  const { graph, changed } = applyPass(b.graph, removeNoops);
  assert.ok(changed);
  const reluInputs = graph.nodes.filter((n) => n.op === "Relu").map((n) => n.inputs[0]);
  // The outputs a and c read the first Relu directly; b still reads its transpose.
  assert.equal(reluInputs.filter((i) => i === r).length, 2);
  assert.ok(reluInputs.includes(other));
  assertSameOutputs(before, graph, randomFeeds(before));
});
