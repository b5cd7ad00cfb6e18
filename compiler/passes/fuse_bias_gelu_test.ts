import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import type { Span, TensorType } from "../ir/graph.ts";
import { fuseBiasGelu } from "./fuse_bias_gelu.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds, randomTensor, seeded } from "./testing.ts";

const MS = "com.microsoft";
const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: "f32", shape });
const span = (line: number): Span => ({ file: "m.dlm", line, col: 1, endLine: line, endCol: 5 });

function biasThen(act: "Gelu" | "FastGelu", biasShape = [8], leak = false): GraphBuilder {
  const b = new GraphBuilder("bias_gelu");
  const x = b.input("x", f32("N", 3, 8));
  const bias = b.initializer("fc.bias", randomTensor("f32", biasShape, seeded(3)));
  const [a] = b.addNode("Add", [bias, x], {}, { spans: [span(1)] });
  const [y] = b.addNode(act, [a], {}, {
    domain: MS,
    name: "act",
    outputs: ["y"],
    spans: [span(2)],
  });
  b.output(y);
  if (leak) b.output(a);
  return b;
}

Deno.test("fuseBiasGelu() folds a bias Add into BiasGelu", () => {
  const b = biasThen("Gelu");
  const { graph, changed, run } = applyPass(b.graph, fuseBiasGelu);
  assert.ok(changed);
  assert.equal(run.fired, 1);
  assert.deepEqual(ops(graph), ["BiasGelu"]);
  const n = graph.nodes[0];
  assert.equal(n.domain, MS);
  assert.equal(n.name, "act");
  assert.deepEqual(n.inputs, ["x", "fc.bias"]);
  assert.deepEqual(n.outputs, ["y"]);
  assert.deepEqual(n.spans, [span(1), span(2)]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 1, { N: 2 }));
});

Deno.test("fuseBiasGelu() gives FastGelu its bias input", () => {
  const b = biasThen("FastGelu");
  const { graph } = applyPass(b.graph, fuseBiasGelu);
  assert.deepEqual(ops(graph), ["FastGelu"]);
  assert.deepEqual(graph.nodes[0].inputs, ["x", "fc.bias"]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 2));
});

Deno.test("fuseBiasGelu() does not fire on a non-vector bias or a sum used elsewhere", () => {
  for (const b of [biasThen("Gelu", [3, 8]), biasThen("Gelu", [8], true)]) {
    const { changed } = applyPass(b.graph, fuseBiasGelu);
    assert.equal(changed, false);
  }
});
