import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import { tensor } from "../ir/tensor.ts";
import { DlmError } from "../diagnostics.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { buildGradients } from "./autodiff.ts";

Deno.test("buildGradients() sums the contributions of a value read twice", () => {
  // L = sum(x * x + x): dL/dx = 2x + 1.
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f64", shape: [3] });
  const sq = b.addNode("Mul", [x, x])[0];
  const s = b.addNode("Add", [sq, x])[0];
  b.output(b.addNode("ReduceSum", [s], { keepdims: 0 })[0], "loss");
  const g = buildGradients(b, "loss", ["x"]).get("x")!;
  b.output(g, "dx");
  const { outputs } = runGraph(b.graph, { x: tensor("f64", [3], [1, -2, 0.5]) });
  assert.deepEqual(Array.from(outputs.dx.data as Float64Array), [3, -3, 2]);
});

Deno.test("buildGradients() gives zeros to a parameter the loss does not reach", () => {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: [2] });
  const w = b.input("w", { dtype: "f32", shape: [2, 2] });
  b.output(b.addNode("ReduceSum", [x], { keepdims: 0 })[0], "loss");
  b.output(buildGradients(b, "loss", [w]).get(w)!, "dw");
  const feeds = { x: tensor("f32", [2], [1, 2]), w: tensor("f32", [2, 2], [1, 2, 3, 4]) };
  const { outputs } = runGraph(b.graph, feeds);
  assert.deepEqual(outputs.dw.shape, [2, 2]);
  assert.deepEqual(Array.from(outputs.dw.data as Float32Array), [0, 0, 0, 0]);
});

Deno.test("buildGradients() rejects a loss that is not a scalar", () => {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: [2] });
  const y = b.addNode("Relu", [x])[0];
  assert.throws(
    () => buildGradients(b, y, [x]),
    (e: unknown) =>
      e instanceof DlmError &&
      /The loss to differentiate must be a scalar, but .* is f32\[2\]/.test(e.message),
  );
});

Deno.test("buildGradients() names the op, the node and its line when a rule is missing", () => {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: [2] });
  const y = b.addNode("Einsum", [x], { equation: "i->i" }, {
    name: "wave",
    spans: [{ file: "net.dlm", line: 12, col: 3, endLine: 12, endCol: 9 }],
  })[0];
  b.output(b.addNode("ReduceSum", [y], { keepdims: 0 })[0], "loss");
  assert.throws(
    () => buildGradients(b, "loss", [x]),
    (e: unknown) =>
      e instanceof DlmError &&
      e.message.includes(
        "Cannot differentiate op 'Einsum' (node 'wave', net.dlm:12:3): it has no gradient rule",
      ),
  );
});

Deno.test("buildGradients() stops at integer values without needing their rules", () => {
  // L = sum(x) * cast(argmax(x)): ArgMax has no rule and needs none.
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f64", shape: [3] });
  const am = b.addNode("ArgMax", [x], { keepdims: 0 })[0];
  const k = b.addNode("Cast", [am], { to: 11 })[0];
  const s = b.addNode("ReduceSum", [x], { keepdims: 0 })[0];
  b.output(b.addNode("Mul", [s, k])[0], "loss");
  b.output(buildGradients(b, "loss", [x]).get(x)!, "dx");
  const { outputs } = runGraph(b.graph, { x: tensor("f64", [3], [1, 5, 2]) });
  assert.deepEqual(Array.from(outputs.dx.data as Float64Array), [1, 1, 1]);
});

Deno.test("buildGradients() gives each rule an expression graph that shares the backward graph's constants", () => {
  // Tanh's rule writes g * (1 - y^2) through `c.e`: the two rules and the seed
  // dL/dL = 1 share one f32 scalar 1, and the rules' nodes carry their node's name.
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: [3] });
  const y1 = b.addNode("Tanh", [x], {}, { name: "t1" })[0];
  const y2 = b.addNode("Tanh", [y1], {}, { name: "t2" })[0];
  b.output(b.addNode("ReduceSum", [y2], { keepdims: 0 })[0], "loss");
  buildGradients(b, "loss", [x]);
  const ones = [...b.graph.initializers].filter(([name, t]) =>
    name.startsWith("grad_const") && t.dtype === "f32" && t.shape.length === 0 && t.data[0] === 1
  );
  assert.equal(ones.length, 1);
  for (const node of ["t1", "t2"]) {
    const ops = b.graph.nodes.filter((n) => n.name.startsWith(`grad/${node}/`)).map((n) => n.op);
    assert.deepEqual(ops.sort(), ["Mul", "Mul", "Sub"]);
  }
});
