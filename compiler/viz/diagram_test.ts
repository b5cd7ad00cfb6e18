import assert from "node:assert/strict";
import type { Graph } from "../ir/graph.ts";
import { emptyGraph } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import {
  buildDiagram,
  elide,
  formatAttrValue,
  formatNumber,
  shortName,
  spanLabel,
} from "./diagram.ts";
import { smallGraph } from "./test_graphs.ts";

const span = (file: string, line: number) => ({ file, line, col: 1, endLine: line, endCol: 5 });

Deno.test("shortName() keeps a name that fits and otherwise its trailing segments", () => {
  assert.equal(shortName("layer1.0.conv1"), "layer1.0.conv1");
  assert.equal(shortName("encoder.layers.11.self_attn.q_proj", 24), "…11.self_attn.q_proj");
  assert.equal(shortName("model/block_3/attention/query", 20), "…attention/query");
  // One segment longer than the limit keeps its tail.
  assert.equal(shortName("a_very_long_single_segment_name", 10), "…ment_name");
  assert.ok([...shortName("x".repeat(100), 28)].length <= 28);
});

Deno.test("elide() cuts long text to the limit with an ellipsis", () => {
  assert.equal(elide("abcdef", 10), "abcdef");
  assert.equal(elide("abcdefghijk", 5), "abcd…");
});

Deno.test("spanLabel() gives base file names and the distinct lines of fused nodes", () => {
  assert.equal(spanLabel([span("models/net.dlm", 12)]), "net.dlm:12");
  assert.equal(
    spanLabel([span("a/net.dlm", 14), span("a/net.dlm", 12), span("a/net.dlm", 14)]),
    "net.dlm:12, 14",
  );
  assert.equal(
    spanLabel([span("net.dlm", 1), span("lib/std.dlm", 7)]),
    "net.dlm:1; std.dlm:7",
  );
  assert.equal(
    spanLabel([1, 2, 3, 4, 5].map((l) => span("n.dlm", l))),
    "n.dlm:1, 2, 3, …",
  );
});

Deno.test("formatNumber() prints integers exactly and floats to 6 significant digits", () => {
  assert.equal(formatNumber(3), "3");
  assert.equal(formatNumber(Math.fround(1e-5)), "0.00001");
  assert.equal(formatNumber(Math.fround(0.1)), "0.1");
  assert.equal(formatNumber(-Infinity), "-Infinity");
});

Deno.test("formatAttrValue() writes lists, strings, small tensors and subgraphs compactly", () => {
  assert.equal(formatAttrValue([7, 7]), "[7, 7]");
  assert.equal(formatAttrValue([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), "[1, 2, 3, 4, 5, 6, …+4]");
  assert.equal(formatAttrValue("constant"), '"constant"');
  assert.equal(formatAttrValue(["a", "b"]), '["a", "b"]');
  assert.equal(formatAttrValue(tensor("i64", [2], [-1, 4096])), "i64[2] = {-1, 4096}");
  assert.equal(formatAttrValue(tensor("f32", [], [0.5])), "f32[] = 0.5");
  assert.equal(formatAttrValue(tensor("f32", [2, 3], [1, 2, 3, 4, 5, 6])), "f32[2, 3]");
  const body = emptyGraph("body");
  assert.equal(formatAttrValue(body), 'graph "body" (0 nodes)');
});

Deno.test("buildDiagram() draws inputs, nodes and outputs but no initializers", () => {
  const g = smallGraph();
  const d = buildDiagram(g);
  assert.equal(d.vertices.length, g.inputs.length + g.nodes.length + g.outputs.length);
  assert.deepEqual(d.vertices.slice(0, 2).map((v) => v.id), ["i0", "n0"]);
  assert.deepEqual(d.vertices.slice(-2).map((v) => v.id), ["o0", "o1"]);
  for (const e of d.edges) assert.ok(!g.initializers.has(e.value), `edge carries ${e.value}`);
});

Deno.test("buildDiagram() summarises initializers on the node that reads them", () => {
  const d = buildDiagram(smallGraph());
  const conv = d.vertices.find((v) => v.subtitle === "stem.conv")!;
  assert.equal(conv.title, "Conv");
  assert.deepEqual(conv.details, [
    "kernel_shape=[3, 3] strides=[1, 1]",
    "pads=[1, 1, 1, 1] group=1",
    "weight f32[16, 3, 3, 3]",
    "bias f32[16]",
  ]);
  assert.equal(conv.location, "tiny.dlm:4");
  assert.equal(conv.tooltip, "stem.conv\nConv\nexamples/tiny.dlm:4:3");
  const mul = d.vertices.find((v) => v.subtitle === "block.scale")!;
  assert.deepEqual(mul.details, ["half f32[] = 0.5"]);
});

Deno.test("buildDiagram() labels each edge with the type of its value", () => {
  const d = buildDiagram(smallGraph());
  const e = d.edges.find((e) => e.from === "i0")!;
  assert.equal(e.to, "n0");
  assert.equal(e.label, "f32[N, 3, 32, 32]");
  assert.equal(e.value, "image");
  // A value read by two nodes gives two edges; a graph output gives an edge to its ellipse.
  assert.equal(d.edges.filter((e) => e.value === "logits").length, 2);
});

Deno.test("buildDiagram() keeps the source lines of a fused node", () => {
  const d = buildDiagram(smallGraph());
  const add = d.vertices.find((v) => v.subtitle === "block.add_relu")!;
  assert.equal(add.location, "tiny.dlm:10, 11");
  assert.equal(add.tooltip.split("\n").length, 4);
});

Deno.test("buildDiagram() draws one edge for a value read twice by the same node", () => {
  const g: Graph = emptyGraph("square");
  g.inputs.push({ name: "x", type: { dtype: "f32", shape: [3] } });
  g.types.set("x", { dtype: "f32", shape: [3] });
  g.nodes.push({ name: "sq", op: "Mul", inputs: ["x", "x"], outputs: ["y"], attrs: {} });
  g.types.set("y", { dtype: "f32", shape: [3] });
  g.outputs.push({ name: "y", type: { dtype: "f32", shape: [3] } });
  const d = buildDiagram(g);
  assert.deepEqual(d.edges.map((e) => `${e.from}->${e.to}`), ["i0->n0", "n0->o0"]);
});

Deno.test("buildDiagram() shows an input with no producer instead of hiding it", () => {
  const g: Graph = emptyGraph("broken");
  g.nodes.push({ name: "r", op: "Relu", inputs: ["ghost"], outputs: ["y"], attrs: {} });
  const d = buildDiagram(g);
  assert.deepEqual(d.vertices[0].details, ["ghost: undefined value"]);
  assert.equal(d.edges.length, 0);
});
