import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import type { Span, TensorType } from "../ir/graph.ts";
import { fuseSkipLayerNorm } from "./fuse_skip_layer_norm.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds, randomTensor, seeded } from "./testing.ts";

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: "f32", shape });
const span = (line: number): Span => ({ file: "m.dlm", line, col: 1, endLine: line, endCol: 5 });

interface Opts {
  skipShape?: (number | string)[];
  /** Another node reads the sum before the layer norm. */
  shareSum?: boolean;
  axis?: number;
}

function residualNorm(o: Opts = {}): GraphBuilder {
  const b = new GraphBuilder("skip_ln");
  const rand = seeded(5);
  const x = b.input("x", f32("N", 3, 8));
  const r = b.input("r", f32(...(o.skipShape ?? ["N", 3, 8])));
  const [s] = b.addNode("Add", [x, r], {}, { spans: [span(1)] });
  const [t] = o.shareSum ? b.addNode("Tanh", [s], {}, { outputs: ["t"] }) : [""];
  const gamma = b.initializer("norm.weight", randomTensor("f32", [8], rand));
  const beta = b.initializer("norm.bias", randomTensor("f32", [8], rand));
  const [y] = b.addNode("LayerNormalization", [s, gamma, beta], {
    axis: o.axis ?? -1,
    epsilon: 1e-5,
  }, { name: "norm", outputs: ["y"], spans: [span(2)] });
  b.output(y);
  if (t) b.output(t);
  return b;
}

Deno.test("fuseSkipLayerNorm() turns Add + LayerNormalization into SkipLayerNormalization", () => {
  const b = residualNorm();
  const { graph, changed, run } = applyPass(b.graph, fuseSkipLayerNorm);
  assert.ok(changed);
  assert.equal(run.fired, 1);
  assert.deepEqual(ops(graph), ["SkipLayerNormalization"]);
  const n = graph.nodes[0];
  assert.equal(n.domain, "com.microsoft");
  assert.equal(n.name, "norm");
  assert.deepEqual(n.inputs, ["x", "r", "norm.weight", "norm.bias"]);
  assert.deepEqual(n.outputs, ["y"]);
  assert.deepEqual(n.attrs, { epsilon: 1e-5 });
  assert.deepEqual(n.spans, [span(1), span(2)]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 1, { N: 2 }));
});

Deno.test("fuseSkipLayerNorm() hands a sum read elsewhere to the 4th output, before its readers", () => {
  const b = residualNorm({ shareSum: true });
  const { graph } = applyPass(b.graph, fuseSkipLayerNorm);
  assert.deepEqual(ops(graph), ["SkipLayerNormalization", "Tanh"]);
  const [n, t] = graph.nodes;
  assert.deepEqual(n.outputs, ["y", "", "", t.inputs[0]]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 2, { N: 2 }));
});

Deno.test("fuseSkipLayerNorm() takes a [S, H] skip in either operand order", () => {
  const b = residualNorm({ skipShape: [3, 8] });
  const { graph } = applyPass(b.graph, fuseSkipLayerNorm);
  assert.deepEqual(ops(graph), ["SkipLayerNormalization"]);
  assert.deepEqual(graph.nodes[0].inputs.slice(0, 2), ["x", "r"]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 3, { N: 2 }));
});

Deno.test("fuseSkipLayerNorm() does not fire over another axis or on a skip that broadcasts otherwise", () => {
  for (const o of [{ axis: 1 }, { skipShape: [8] }] as Opts[]) {
    assert.equal(applyPass(residualNorm(o).graph, fuseSkipLayerNorm).changed, false);
  }
});
