/**
 * The drawing code never touches the op table, but the graphs it draws come
 * from GraphBuilder: check one end to end, names and types as the builder makes them.
 */
import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import { zeros } from "../ir/tensor.ts";
import { graphToDot } from "./dot.ts";
import { graphToSvg, layoutGraph } from "./svg.ts";
import { findAll, parseXml, textOf } from "./xml_wellformed.ts";

function mlp() {
  const b = new GraphBuilder("MLP");
  const span = (line: number) => ({ file: "mlp.dlm", line, col: 5, endLine: line, endCol: 20 });
  const x = b.input("x", { dtype: "f32", shape: ["N", 784] }, span(2));
  const w1 = b.initializer("fc1.weight", zeros("f32", [128, 784]));
  const b1 = b.initializer("fc1.bias", zeros("f32", [128]));
  const [h] = b.addNode("Gemm", [x, w1, b1], { transB: 1 }, { name: "fc1", spans: [span(3)] });
  const [r] = b.addNode("Relu", [h], {}, { name: "act", spans: [span(3)] });
  const w2 = b.initializer("fc2.weight", zeros("f32", [10, 128]));
  const [y] = b.addNode("Gemm", [r, w2], { transB: 1 }, { name: "fc2", spans: [span(4)] });
  b.output(y, "logits", span(4));
  return b.graph;
}

Deno.test("graphToSvg() and graphToDot() draw a graph made by GraphBuilder", () => {
  const g = mlp();
  const root = parseXml(graphToSvg(g));
  const titles = findAll(root, "title").map(textOf);
  for (const n of g.nodes) assert.ok(titles.some((t) => t.startsWith(`${n.name}\n`)), n.name);
  const labels = findAll(root, "text").filter((t) => t.attrs.class === "el").map(textOf);
  assert.ok(labels.includes("f32[N, 128]"));
  assert.ok(graphToDot(g).includes("weight f32[128, 784]"));
  const { layout } = layoutGraph(g);
  assert.deepEqual(layout.nodes.map((n) => n.layer), [0, 1, 2, 3, 4]);
});
