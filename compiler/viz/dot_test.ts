import assert from "node:assert/strict";
import type { Graph } from "../ir/graph.ts";
import { emptyGraph } from "../ir/graph.ts";
import { dotString, graphToDot } from "./dot.ts";
import { resnet50Graph, smallGraph } from "./test_graphs.ts";

Deno.test("graphToDot() of a small residual net matches its snapshot", async (t) => {
  // Stored as plain text (not `Deno.inspect`ed) so that a diff of the snapshot reads as DOT.
  await t.assertSnapshot(graphToDot(smallGraph(), { title: "tiny.dlm" }), {
    serializer: (s: string) => s,
  });
});

Deno.test("graphToDot() gives the same bytes for the same graph", () => {
  assert.equal(graphToDot(resnet50Graph()), graphToDot(resnet50Graph()));
});

Deno.test("graphToDot() draws every node once, inputs and outputs as ellipses", () => {
  const g = resnet50Graph();
  const dot = graphToDot(g);
  const boxes = dot.match(/^ {2}n\d+ \[/gm) ?? [];
  assert.equal(boxes.length, g.nodes.length);
  assert.equal((dot.match(/shape=ellipse/g) ?? []).length, g.inputs.length + g.outputs.length);
  // Initializers are summarised, never drawn: ResNet-50 has hundreds of them.
  assert.ok(!dot.includes("layer1.0.conv1.weight"));
  assert.ok(dot.includes("weight f32[64, 64, 1, 1]"));
});

Deno.test("dotString() escapes quotes, backslashes and newlines so no DOT escape is formed", () => {
  assert.equal(dotString('a"b'), '"a\\"b"');
  assert.equal(dotString("a\\N"), '"a\\\\N"');
  assert.equal(dotString("two\nlines"), '"two\\nlines"');
  assert.equal(dotString("bell\u0007"), '"bell"');
});

Deno.test("graphToDot() keeps hostile names inside quoted strings", () => {
  const g: Graph = emptyGraph('evil" -> x [label="pwned"]; //');
  g.inputs.push({ name: "in}{", type: { dtype: "f32", shape: ["N"] } });
  g.types.set("in}{", { dtype: "f32", shape: ["N"] });
  g.nodes.push({ name: 'a\\"b\nc', op: "Relu", inputs: ["in}{"], outputs: ["y"], attrs: {} });
  g.types.set("y", { dtype: "f32", shape: ["N"] });
  g.outputs.push({ name: "y", type: { dtype: "f32", shape: ["N"] } });
  const dot = graphToDot(g);
  // Every line is a statement with balanced, properly escaped strings.
  for (const line of dot.trimEnd().split("\n")) {
    const unescaped = line.replace(/\\./g, "");
    assert.equal((unescaped.match(/"/g) ?? []).length % 2, 0, line);
  }
  assert.ok(dot.startsWith('digraph "evil\\" -> x [label=\\"pwned\\"]; //" {\n'));
  assert.ok(dot.includes('label="Relu\\na\\\\\\"b\\nc"'));
});
