import assert from "node:assert/strict";
import { GraphBuilder } from "./builder.ts";
import type { Graph } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { assertValid, verifyGraph } from "./verify.ts";
import { DlmError } from "../diagnostics.ts";

/** x: f32[2, 3] -> Relu -> Add(w) -> y, with w an initializer that is a parameter. */
function small(): Graph {
  const b = new GraphBuilder("small");
  const x = b.input("x", { dtype: "f32", shape: [2, 3] });
  const w = b.initializer("w", tensor("f32", [3], [1, 2, 3]));
  b.graph.params.push({ name: w, role: "bias", trainable: true });
  const [r] = b.addNode("Relu", [x], {}, { name: "relu", outputs: ["r"] });
  const [y] = b.addNode("Add", [r, w], {}, { name: "add", outputs: ["y"] });
  b.output(y);
  return b.graph;
}

function expectProblem(g: Graph, pattern: RegExp): void {
  const problems = verifyGraph(g);
  assert.ok(
    problems.some((p) => pattern.test(p)),
    `expected a problem matching ${pattern}, got:\n${problems.join("\n") || "(none)"}`,
  );
}

Deno.test("verifyGraph() finds nothing wrong with a well-formed graph", () => {
  assert.deepEqual(verifyGraph(small()), []);
});

Deno.test("verifyGraph() accepts an unused graph input", () => {
  const g = small();
  const b = new GraphBuilder(g);
  b.input("unused", { dtype: "f32", shape: [4] });
  assert.deepEqual(verifyGraph(g), []);
});

Deno.test("verifyGraph() accepts an omitted optional input", () => {
  const b = new GraphBuilder("gemm");
  const a = b.input("a", { dtype: "f32", shape: [2, 3] });
  const w = b.initializer("w", tensor("f32", [3, 4], new Array(12).fill(1)));
  const [y] = b.addNode("Gemm", [a, w, ""]);
  b.output(y);
  assert.deepEqual(verifyGraph(b.graph), []);
});

Deno.test("verifyGraph() reports two nodes with the same name", () => {
  const g = small();
  g.nodes[1].name = g.nodes[0].name;
  expectProblem(g, /Node name 'relu' is used by more than one node/);
});

Deno.test("verifyGraph() reports a value defined twice", () => {
  const g = small();
  g.nodes[0].outputs = ["x"];
  g.nodes[1].inputs[0] = "x";
  expectProblem(g, /Value 'x' is defined twice: as a graph input and as the output of node 'relu'/);
});

Deno.test("verifyGraph() reports an initializer that is also a graph input", () => {
  const g = small();
  g.initializers.set("x", tensor("f32", [2, 3], [1, 2, 3, 4, 5, 6]));
  expectProblem(g, /Value 'x' is defined twice: as a graph input and as a graph initializer/);
});

Deno.test("verifyGraph() reports a node that reads a value before it is defined", () => {
  const g = small();
  g.nodes.reverse();
  expectProblem(g, /Node 'add' \(Add\) reads 'r' \(input 0\) before it is defined/);
});

Deno.test("verifyGraph() reports a node that reads a value nobody defines", () => {
  const g = small();
  g.nodes[1].inputs[1] = "ghost";
  expectProblem(g, /reads 'ghost' \(input 1\), which is never defined/);
});

Deno.test("verifyGraph() reports an omitted required input", () => {
  const g = small();
  g.nodes[1].inputs[1] = "";
  expectProblem(g, /Node 'add' \(Add\) omits its required input 1 \('B'\)/);
});

Deno.test("verifyGraph() reports a graph output that is never defined", () => {
  const g = small();
  g.outputs.push({ name: "z", type: { dtype: "f32", shape: [2, 3] } });
  g.types.set("z", { dtype: "f32", shape: [2, 3] });
  expectProblem(g, /Graph output 'z' is never defined/);
});

Deno.test("verifyGraph() reports a value without a type", () => {
  const g = small();
  g.types.delete("r");
  expectProblem(g, /Output 'r' of node 'relu' \(Relu\) has no type/);
  const h = small();
  h.types.delete("w");
  expectProblem(h, /Initializer 'w' has no type/);
});

Deno.test("verifyGraph() reports a graph output declared with another type", () => {
  const g = small();
  g.outputs[0].type = { dtype: "f32", shape: [2, 4] };
  expectProblem(g, /Graph output 'y' is declared as f32\[2, 4\] but its type is f32\[2, 3\]/);
});

Deno.test("verifyGraph() reports an op that is not registered", () => {
  const g = small();
  g.nodes[0].op = "Frobnicate";
  expectProblem(g, /Node 'relu' \(Frobnicate\) uses an op that is not registered/);
});

Deno.test("verifyGraph() reports a node with too many inputs for its op", () => {
  const g = small();
  g.nodes[1].inputs.push("x");
  expectProblem(g, /Node 'add' \(Add\) has 3 inputs but the op takes 2/);
});

Deno.test("verifyGraph() reports a node with too few outputs for its op", () => {
  const g = small();
  g.nodes[0].outputs = [];
  expectProblem(g, /Node 'relu' \(Relu\) has 0 outputs but the op takes 1/);
});

Deno.test("verifyGraph() reports a recorded type its op's shape rule does not reproduce", () => {
  const g = small();
  g.types.set("r", { dtype: "f32", shape: [2, 5] });
  expectProblem(
    g,
    /Node 'relu' \(Relu\): output 'r' is recorded as f32\[2, 5\] but its shape rule gives f32\[2, 3\]/,
  );
});

Deno.test("verifyGraph() reports input types the op's shape rule rejects", () => {
  const g = small();
  g.initializers.set("w", tensor("f32", [4], [1, 2, 3, 4]));
  g.types.set("w", { dtype: "f32", shape: [4] });
  expectProblem(
    g,
    /Node 'add' \(Add\): its shape rule rejects the recorded input types: Cannot broadcast/,
  );
});

Deno.test("verifyGraph() reports a parameter that names no initializer or input", () => {
  const g = small();
  g.params.push({ name: "fc.weight", role: "weight", trainable: true });
  expectProblem(
    g,
    /Parameter 'fc.weight' \(weight\) names neither an initializer nor a graph input/,
  );
});

Deno.test("verifyGraph() accepts a parameter that is a graph input", () => {
  const g = small();
  g.params.push({ name: "x", role: "weight", trainable: true });
  assert.deepEqual(verifyGraph(g), []);
});

Deno.test("assertValid() throws an internal error listing every problem", () => {
  const g = small();
  g.nodes[0].op = "Frobnicate";
  g.params.push({ name: "gone", role: "weight", trainable: true });
  assert.throws(
    () => assertValid(g, "after pass 'demo'"),
    (e: unknown) => {
      assert.ok(e instanceof DlmError);
      const d = e.diagnostics[0];
      assert.equal(d.code, "DLM0900");
      assert.match(d.message, /graph 'small' is invalid after pass 'demo' \(2 problems\)/);
      assert.ok(d.notes?.some((n) => /Frobnicate/.test(n)));
      assert.ok(d.notes?.some((n) => /'gone'/.test(n)));
      return true;
    },
  );
});

Deno.test("assertValid() returns quietly for a valid graph", () => {
  assertValid(small());
});

Deno.test("verifyGraph() accepts dims known only at run time, whatever their number", () => {
  const b = new GraphBuilder("dynamic");
  const x = b.input("x", { dtype: "f32", shape: [2, 3] });
  const s = b.input("s", { dtype: "i64", shape: [2] });
  const [y] = b.addNode("Reshape", [x, s]);
  b.output(y);
  assert.match(String(b.graph.types.get(y)!.shape[0]), /^\?Reshape_\d+$/);
  // Re-inference numbers its fresh dims anew; the recorded ones still agree.
  assert.deepEqual(verifyGraph(b.graph), []);
});
