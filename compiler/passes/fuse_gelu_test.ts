import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import type { Span, TensorType } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { fuseGelu } from "./fuse_gelu.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds } from "./testing.ts";

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: "f32", shape });
const span = (line: number): Span => ({ file: "m.dlm", line, col: 1, endLine: line, endCol: 5 });

type Order = "dlm" | "half-first" | "p-half";

/** The erf GELU of x, in dlm's own node order or a commuted one, feeding a Relu. */
function erfGelu(order: Order, o: { leak?: boolean; sqrt2?: number } = {}): GraphBuilder {
  const b = new GraphBuilder("gelu");
  const c = (name: string, v: number) => b.initializer(name, tensor("f32", [], [v]));
  const x = b.input("x", f32("N", 6));
  const [d] = b.addNode("Div", [x, c("sqrt2", o.sqrt2 ?? Math.SQRT2)], {}, { spans: [span(1)] });
  const [e] = b.addNode("Erf", [d], {}, { name: "gelu_erf", spans: [span(1)] });
  const [p] = b.addNode("Add", [c("one", 1), e], {}, { spans: [span(2)] });
  let y: string;
  if (order === "dlm") {
    const [m] = b.addNode("Mul", [x, p]);
    [y] = b.addNode("Mul", [m, c("half", 0.5)], {}, { spans: [span(3)] });
  } else if (order === "half-first") {
    const [h] = b.addNode("Mul", [c("half", 0.5), x]);
    [y] = b.addNode("Mul", [p, h]);
  } else {
    const [h] = b.addNode("Mul", [p, c("half", 0.5)]);
    [y] = b.addNode("Mul", [x, h]);
  }
  b.output(b.addNode("Relu", [y], {}, { outputs: ["z"] })[0]);
  if (o.leak) b.output(p);
  return b;
}

/** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), with x^3 as Pow or as x * (x * x). */
function tanhGelu(cube: "pow" | "mul"): GraphBuilder {
  const b = new GraphBuilder("fast_gelu");
  const c = (name: string, v: number) => b.initializer(name, tensor("f32", [], [v]));
  const x = b.input("x", f32(2, 6));
  let x3: string;
  if (cube === "pow") [x3] = b.addNode("Pow", [x, c("three", 3)]);
  else {
    const [sq] = b.addNode("Mul", [x, x]);
    [x3] = b.addNode("Mul", [sq, x]);
  }
  const [a] = b.addNode("Mul", [c("k", 0.044715), x3]);
  const [s] = b.addNode("Add", [x, a]);
  const [t0] = b.addNode("Mul", [s, c("c", Math.sqrt(2 / Math.PI))]);
  const [t] = b.addNode("Tanh", [t0]);
  const [p] = b.addNode("Add", [t, c("one", 1)]);
  const [m] = b.addNode("Mul", [x, p]);
  b.output(b.addNode("Mul", [m, c("half", 0.5)], {}, { outputs: ["y"] })[0]);
  return b;
}

Deno.test("fuseGelu() turns dlm's own gelu() nodes into com.microsoft Gelu", () => {
  const b = erfGelu("dlm");
  const { graph, changed, run } = applyPass(b.graph, fuseGelu);
  assert.ok(changed);
  assert.deepEqual(ops(graph), ["Gelu", "Relu"]);
  const n = graph.nodes[0];
  assert.equal(n.domain, "com.microsoft");
  assert.equal(n.name, "gelu_erf");
  assert.deepEqual(n.inputs, ["x"]);
  assert.deepEqual(n.spans, [span(1), span(2), span(3)]);
  assert.deepEqual(run.rewrites[0].ops, ["Div", "Erf", "Add", "Mul", "Mul"]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 1, { N: 3 }));
});

Deno.test("fuseGelu() accepts the commuted products 0.5 x * p and p 0.5 * x", () => {
  for (const order of ["half-first", "p-half"] as Order[]) {
    const b = erfGelu(order);
    const { graph } = applyPass(b.graph, fuseGelu);
    assert.deepEqual(ops(graph), ["Gelu", "Relu"], order);
    assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 2));
  }
});

Deno.test("fuseGelu() turns the tanh approximation into FastGelu", () => {
  for (const cube of ["pow", "mul"] as const) {
    const b = tanhGelu(cube);
    const { graph } = applyPass(b.graph, fuseGelu);
    assert.deepEqual(ops(graph), ["FastGelu"], cube);
    assert.deepEqual(graph.nodes[0].outputs, ["y"]);
    assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 3));
  }
});

Deno.test("fuseGelu() does not fire when a partial value is used elsewhere or a constant is off", () => {
  for (const b of [erfGelu("dlm", { leak: true }), erfGelu("dlm", { sqrt2: 1.5 })]) {
    const { changed, graph } = applyPass(b.graph, fuseGelu);
    assert.equal(changed, false);
    assert.equal(graph.nodes.length, 6);
  }
});
