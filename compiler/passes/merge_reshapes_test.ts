import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import { tensor, toNumbers } from "../ir/tensor.ts";
import { mergeReshapes } from "./merge_reshapes.ts";
import { dce } from "./dce.ts";
import { runPasses } from "./manager.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds } from "./testing.ts";

const ints = (b: GraphBuilder, name: string, xs: number[]) =>
  b.initializer(name, tensor("i64", [xs.length], xs));

Deno.test("mergeReshapes() makes a reshape of a reshape read the first one's input", () => {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: [2, 3, 4] });
  const [r1] = b.addNode("Reshape", [x, ints(b, "s1", [6, 4])], {}, { name: "r1" });
  const [r2] = b.addNode("Reshape", [r1, ints(b, "s2", [3, 8])], {}, { name: "r2" });
  b.output(b.addNode("Relu", [r2])[0], "y");
  const { graph, changed, run } = applyPass(b.graph, mergeReshapes);
  assert.ok(changed);
  const r2After = graph.nodes.find((n) => n.name === "r2")!;
  assert.deepEqual(r2After.inputs, ["x", "s2"]);
  assert.deepEqual(run.rewrites.map((r) => r.nodes), [["r2"]]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 4));
  // dce then drops the first reshape, which nothing reads.
  runPasses(graph, [dce], { mode: "eval" });
  assert.deepEqual(ops(graph), ["Reshape", "Relu"]);
});

Deno.test("mergeReshapes() takes Flatten, Squeeze and Unsqueeze as the first reshape", () => {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: [2, 1, 6] });
  const [sq] = b.addNode("Squeeze", [x, ints(b, "ax", [1])], {}, { name: "sq" });
  const [r1] = b.addNode("Reshape", [sq, ints(b, "s1", [3, 4])], {}, { name: "r1" });
  const [fl] = b.addNode("Flatten", [x], { axis: 2 }, { name: "fl" });
  const [r2] = b.addNode("Reshape", [fl, ints(b, "s2", [12])], {}, { name: "r2" });
  b.output(r1, "y");
  b.output(r2, "z");
  const { graph } = applyPass(b.graph, mergeReshapes);
  assert.deepEqual(graph.nodes.filter((n) => n.op === "Reshape").map((n) => n.inputs[0]), [
    "x",
    "x",
  ]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 5));
});

Deno.test("mergeReshapes() writes a 0 of the shape as the dim it copied, the symbolic one as -1", () => {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: ["N", 2, 3, 4] });
  const [r1] = b.addNode("Reshape", [x, ints(b, "s1", [-1, 6, 4])], {}, { name: "r1" });
  // [0, 24]: dim 0 of r1's output (N), which x's dim 0 is too, but the merge may not rely on it.
  const [r2] = b.addNode("Reshape", [r1, ints(b, "s2", [0, 24])], {}, { name: "r2" });
  b.output(r2, "y");
  const { graph, changed } = applyPass(b.graph, mergeReshapes);
  assert.ok(changed);
  const r2After = graph.nodes.find((n) => n.name === "r2")!;
  assert.equal(r2After.inputs[0], "x");
  assert.deepEqual(toNumbers(graph.initializers.get(r2After.inputs[1])!), [-1, 24]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 6, { N: 3 }));
});

Deno.test("mergeReshapes() leaves a Transpose, a run-time shape and a 0 among two symbolic dims alone", () => {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: ["N", "T", 4] });
  // After a Transpose the order of the elements differs: no merge.
  const [t] = b.addNode("Transpose", [x], { perm: [1, 0, 2] }, { name: "t" });
  const [r1] = b.addNode("Reshape", [t, ints(b, "s1", [0, -1])], {}, { name: "r1" });
  // A shape computed at run time.
  const [f] = b.addNode("Flatten", [x], { axis: 2 }, { name: "f" });
  const [shape] = b.addNode("Shape", [x], {}, { name: "shape" });
  const [r2] = b.addNode("Reshape", [f, shape], {}, { name: "r2" });
  // 0s that copy N and T: two symbolic dims cannot both be written as -1.
  const [r3] = b.addNode("Reshape", [x, ints(b, "s3", [0, 0, 2, 2])], {}, { name: "r3" });
  const [r4] = b.addNode("Reshape", [r3, ints(b, "s4", [0, 0, 4])], {}, { name: "r4" });
  b.output(r1, "a");
  b.output(r2, "b");
  b.output(r4, "c");
  assert.equal(applyPass(b.graph, mergeReshapes).changed, false);
});
