import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import type { Span, TensorType } from "../ir/graph.ts";
import { fuseGemm } from "./fuse_gemm.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds, randomTensor, seeded } from "./testing.ts";

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: "f32", shape });
const span = (line: number): Span => ({ file: "m.dlm", line, col: 1, endLine: line, endCol: 5 });

function init(b: GraphBuilder, name: string, shape: number[], seed = 1): string {
  return b.initializer(name, randomTensor("f32", shape, seeded(seed)));
}

Deno.test("fuseGemm() fuses MatMul with a constant weight and a bias Add into Gemm", () => {
  const b = new GraphBuilder("linear");
  const x = b.input("x", f32("N", 4));
  const [m] = b.addNode("MatMul", [x, init(b, "fc.weight", [4, 3])], {}, {
    name: "fc",
    spans: [span(2)],
  });
  const [a] = b.addNode("Add", [m, init(b, "fc.bias", [3], 2)], {}, {
    name: "fc_add",
    spans: [span(3)],
  });
  const [y] = b.addNode("Relu", [a], {}, { outputs: ["y"] });
  b.output(y);
  const { graph, changed, run } = applyPass(b.graph, fuseGemm);
  assert.ok(changed);
  assert.equal(run.fired, 1);
  assert.deepEqual(ops(graph), ["Gemm", "Relu"]);
  const gemm = graph.nodes[0];
  assert.equal(gemm.name, "fc");
  assert.deepEqual(gemm.inputs, ["x", "fc.weight", "fc.bias"]);
  assert.deepEqual(gemm.outputs, [a]);
  assert.deepEqual(gemm.attrs, {});
  assert.deepEqual(gemm.spans, [span(2), span(3)]);
  assert.ok(!graph.types.has(m));
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 1, { N: 3 }));
});

Deno.test("fuseGemm() accepts the bias first and of shape [1, N]", () => {
  const b = new GraphBuilder("linear");
  const x = b.input("x", f32(2, 4));
  const [m] = b.addNode("MatMul", [x, init(b, "w", [4, 3])]);
  const [a] = b.addNode("Add", [init(b, "bias", [1, 3], 3), m], {}, { outputs: ["y"] });
  b.output(a);
  const { graph } = applyPass(b.graph, fuseGemm);
  assert.deepEqual(ops(graph), ["Gemm"]);
  assert.deepEqual(graph.nodes[0].inputs, ["x", "w", "bias"]);
  assert.deepEqual(graph.nodes[0].outputs, ["y"]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 2));
});

Deno.test("fuseGemm() absorbs a Transpose of the weight as transB", () => {
  const b = new GraphBuilder("linear_t");
  const x = b.input("x", f32(2, 4));
  const [t] = b.addNode("Transpose", [init(b, "w", [3, 4])], { perm: [1, 0] }, {
    spans: [span(1)],
  });
  const [m] = b.addNode("MatMul", [x, t], {}, { spans: [span(2)] });
  const [a] = b.addNode("Add", [m, init(b, "bias", [3], 4)], {}, {
    outputs: ["y"],
    spans: [span(2)],
  });
  b.output(a);
  const { graph, run } = applyPass(b.graph, fuseGemm);
  assert.deepEqual(ops(graph), ["Gemm"]);
  assert.deepEqual(graph.nodes[0].inputs, ["x", "w", "bias"]);
  assert.deepEqual(graph.nodes[0].attrs, { transB: 1 });
  assert.deepEqual(graph.nodes[0].spans, [span(2), span(1)]);
  assert.deepEqual(run.rewrites[0].ops, ["MatMul", "Transpose", "Add"]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 3));
});

Deno.test("fuseGemm() turns MatMul of a transposed input into Gemm without bias", () => {
  const b = new GraphBuilder("mm_t");
  const x = b.input("x", f32(2, 4));
  const v = b.input("v", f32(5, 4));
  const [t] = b.addNode("Transpose", [v]);
  const [m] = b.addNode("MatMul", [x, t], {}, { outputs: ["y"] });
  const [z] = b.addNode("Relu", [t], {}, { outputs: ["z"] }); // keeps the Transpose alive
  b.output(m);
  b.output(z);
  const { graph } = applyPass(b.graph, fuseGemm);
  assert.deepEqual(ops(graph), ["Transpose", "Gemm", "Relu"]);
  assert.deepEqual(graph.nodes[1].inputs, ["x", "v"]);
  assert.deepEqual(graph.nodes[1].attrs, { transB: 1 });
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 4));
});

Deno.test("fuseGemm() does not fire when the MatMul output has another reader", () => {
  const b = new GraphBuilder("shared");
  const x = b.input("x", f32(2, 4));
  const [m] = b.addNode("MatMul", [x, init(b, "w", [4, 3])]);
  const [a] = b.addNode("Add", [m, init(b, "bias", [3], 2)], {}, { outputs: ["y"] });
  const [r] = b.addNode("Relu", [m], {}, { outputs: ["z"] });
  b.output(a);
  b.output(r);
  const { graph, changed } = applyPass(b.graph, fuseGemm);
  assert.equal(changed, false);
  assert.deepEqual(ops(graph), ["MatMul", "Add", "Relu"]);
});

Deno.test("fuseGemm() does not fire on a rank-3 input, a weight fed at run time or a full bias", () => {
  const cases: [string, (b: GraphBuilder) => void][] = [
    ["rank 3", (b) => {
      const x = b.input("x", f32(2, 2, 4));
      const [m] = b.addNode("MatMul", [x, init(b, "w", [4, 3])]);
      b.output(b.addNode("Add", [m, init(b, "bias", [3])])[0]);
    }],
    ["weight input", (b) => {
      const x = b.input("x", f32(2, 4));
      const [m] = b.addNode("MatMul", [x, b.input("w", f32(4, 3))]);
      b.output(b.addNode("Add", [m, init(b, "bias", [3])])[0]);
    }],
    ["bias [M, N]", (b) => {
      const x = b.input("x", f32(2, 4));
      const [m] = b.addNode("MatMul", [x, init(b, "w", [4, 3])]);
      b.output(b.addNode("Add", [m, init(b, "bias", [2, 3])])[0]);
    }],
    ["no bias, no transpose", (b) => {
      const x = b.input("x", f32(2, 4));
      b.output(b.addNode("MatMul", [x, init(b, "w", [4, 3])])[0]);
    }],
  ];
  for (const [what, build] of cases) {
    const b = new GraphBuilder(what);
    build(b);
    assert.equal(applyPass(b.graph, fuseGemm).changed, false, what);
  }
});
