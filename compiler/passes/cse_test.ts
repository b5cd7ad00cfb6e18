import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import type { Span } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { cse } from "./cse.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds } from "./testing.ts";

const at = (line: number): Span => ({ file: "m.dlm", line, col: 3, endLine: line, endCol: 9 });

/** x -> (Relu, Relu) -> Add: two identical Relu nodes. */
function twinRelus() {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: ["N", 4] });
  const [r1] = b.addNode("Relu", [x], {}, { name: "r1", spans: [at(1)] });
  const [r2] = b.addNode("Relu", [x], {}, { name: "r2", spans: [at(2)] });
  const [s] = b.addNode("Add", [r1, r2], {}, { name: "sum" });
  b.output(s, "y");
  return b.graph;
}

Deno.test("cse() merges a node that repeats an earlier one and keeps both spans", () => {
  const g = twinRelus();
  const { graph, changed, run } = applyPass(g, cse);
  assert.ok(changed);
  assert.deepEqual(ops(graph), ["Relu", "Add"]);
  assert.deepEqual(graph.nodes[1].inputs, ["r1", "r1"]);
  assert.deepEqual(graph.nodes[0].spans?.map((s) => s.line), [1, 2]);
  assert.equal(run.fired, 1);
  assert.deepEqual(run.rewrites[0].nodes, ["r2"]);
});

Deno.test("cse() leaves the numbers as they were", () => {
  const g = twinRelus();
  const { graph } = applyPass(g, cse);
  assertSameOutputs(g, graph, randomFeeds(g, 3, { N: 3 }));
});

Deno.test("cse() merges chains: equal inputs make the next nodes equal too", () => {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: [2, 3] });
  const [a1] = b.addNode("Exp", [x], {}, { name: "a1" });
  const [b1] = b.addNode("Softmax", [a1], { axis: 1 }, { name: "b1" });
  const [a2] = b.addNode("Exp", [x], {}, { name: "a2" });
  const [b2] = b.addNode("Softmax", [a2], { axis: 1 }, { name: "b2" });
  const [s] = b.addNode("Mul", [b1, b2], {}, { name: "m" });
  b.output(s, "y");
  const { graph } = applyPass(b.graph, cse);
  assert.deepEqual(ops(graph), ["Exp", "Softmax", "Mul"]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 1));
});

Deno.test("cse() does not merge nodes that differ in attributes, random ops, or graph outputs", () => {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: [2, 3] });
  const [s0] = b.addNode("Softmax", [x], { axis: 0 }, { name: "s0" });
  const [s1] = b.addNode("Softmax", [x], { axis: 1 }, { name: "s1" });
  const [u1] = b.addNode("RandomUniformLike", [x], { seed: 1 }, { name: "u1" });
  const [u2] = b.addNode("RandomUniformLike", [x], { seed: 1 }, { name: "u2" });
  const [t1] = b.addNode("Tanh", [x], {}, { name: "t1" });
  const [t2] = b.addNode("Tanh", [x], {}, { name: "t2" });
  const [a] = b.addNode("Add", [s0, s1], {}, { name: "a" });
  const [c] = b.addNode("Add", [u1, u2], {}, { name: "c" });
  b.output(a, "y");
  b.output(c, "z");
  b.output(t1, "t1out");
  b.output(t2, "t2out");
  const { changed } = applyPass(b.graph, cse);
  assert.equal(changed, false);
});

Deno.test("cse() merges a MaxPool into an earlier one that lacks its Indices output; Splits of different counts stay", () => {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: [1, 2, 4, 4] });
  const attrs = { kernel_shape: [2, 2], strides: [2, 2] };
  const [p1] = b.addNode("MaxPool", [x], attrs, { name: "pool" });
  const [p2, idx] = b.addNode("MaxPool", [x], attrs, { name: "pool_grad", nOutputs: 2 });
  const [c] = b.addNode("Cast", [idx], { to: 1 }, { name: "cast" });
  const [s] = b.addNode("Add", [p1, p2], {}, { name: "add" });
  const [y] = b.addNode("Add", [s, c], {}, { name: "y" });
  const [a, a2] = b.addNode("Split", [x], { axis: 1 }, { name: "split2", nOutputs: 2 });
  const [h1, h2, h3, h4] = b.addNode("Split", [x], { axis: 2 }, { name: "split4", nOutputs: 4 });
  b.output(y, "y");
  b.output(b.addNode("Add", [a, a2], {}, { name: "sa" })[0], "s2");
  b.output(b.addNode("Sum", [h1, h2, h3, h4], {}, { name: "s4" })[0], "s4");
  const { graph } = applyPass(b.graph, cse);
  const pools = graph.nodes.filter((n) => n.op === "MaxPool");
  assert.equal(pools.length, 1);
  assert.equal(pools[0].name, "pool");
  assert.deepEqual(pools[0].outputs, [p1, idx]);
  assert.equal(graph.nodes.filter((n) => n.op === "Split").length, 2);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 2));
});

Deno.test("cse() compares small constants by value: two builders' 0.5 under two names are one", () => {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: [2, 3] });
  const half1 = b.initializer("grad_const", tensor("f32", [], [0.5]));
  const half2 = b.initializer("bn.c", tensor("f32", [], [0.5]));
  const [m1] = b.addNode("Mul", [x, half1], {}, { name: "m1" });
  const [m2] = b.addNode("Mul", [x, half2], {}, { name: "m2" });
  const [s] = b.addNode("Add", [m1, m2], {}, { name: "s" });
  b.output(s, "y");
  const { graph } = applyPass(b.graph, cse);
  assert.deepEqual(ops(graph), ["Mul", "Add"]);
  assert.deepEqual(graph.nodes[1].inputs, ["m1", "m1"]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 2));
});

Deno.test("cse() keeps apart constants of different values, 0 and -0, and parameters of equal values", () => {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: [3] });
  const zero = b.initializer("zero", tensor("f32", [], [0]));
  const negZero = b.initializer("neg_zero", tensor("f32", [], [-0]));
  const w1 = b.initializer("w1", tensor("f32", [3], [1, 2, 3]));
  const w2 = b.initializer("w2", tensor("f32", [3], [1, 2, 3]));
  b.graph.params.push(
    { name: w1, role: "weight", trainable: true },
    { name: w2, role: "weight", trainable: true },
  );
  const outs = [
    b.addNode("Mul", [x, zero], {}, { name: "a" })[0],
    b.addNode("Mul", [x, negZero], {}, { name: "b" })[0],
    b.addNode("Mul", [x, w1], {}, { name: "c" })[0],
    b.addNode("Mul", [x, w2], {}, { name: "d" })[0],
  ];
  const [s1] = b.addNode("Add", [outs[0], outs[1]], {}, { name: "s1" });
  const [s2] = b.addNode("Add", [outs[2], outs[3]], {}, { name: "s2" });
  b.output(s1, "y");
  b.output(s2, "z");
  assert.equal(applyPass(b.graph, cse, { mode: "train", keepParams: true }).changed, false);
});

Deno.test("cse() merging a value a Loop body reads by name makes the body read the one kept", () => {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: [2, 3] });
  const [r1] = b.addNode("Relu", [x], {}, { name: "r1" });
  const [r2] = b.addNode("Relu", [x], {}, { name: "r2" });
  // Three iterations of acc + r2, the body capturing r2.
  const body = new GraphBuilder("body", { outer: b, prefix: "body/" });
  body.input("iter", { dtype: "i64", shape: [] });
  const cond = body.input("cond", { dtype: "bool", shape: [] });
  const acc = body.input("acc", { dtype: "f32", shape: [2, 3] });
  const [c] = body.addNode("Identity", [cond]);
  const [next] = body.addNode("Add", [acc, r2]);
  body.output(c);
  body.output(next);
  const three = b.initializer("three", tensor("i64", [], [3]));
  const [out] = b.addNode("Loop", [three, "", r1], { body: body.graph }, { name: "loop" });
  b.output(out, "y");
  const g = b.graph;
  const { graph } = applyPass(g, cse);
  assert.deepEqual(ops(graph), ["Relu", "Loop"]);
  const inner = graph.nodes[1].attrs.body as typeof g;
  assert.deepEqual(inner.nodes[1].inputs, ["body/acc", "r1"]);
  assertSameOutputs(g, graph, randomFeeds(g, 3));
});
