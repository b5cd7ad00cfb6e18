import assert from "node:assert/strict";
import type { Graph } from "../ir/graph.ts";
import { emptyGraph, formatSpan } from "../ir/graph.ts";
import { curveXAt, esc, graphToSvg, layoutGraph } from "./svg.ts";
import { inceptionGraph, resnet50Graph, smallGraph } from "./test_graphs.ts";
import { findAll, parseXml, textOf, type XmlElement } from "./xml_wellformed.ts";

const titles = (root: XmlElement) => findAll(root, "title").map(textOf);

Deno.test("graphToSvg() writes a standalone, well-formed SVG document", () => {
  const svg = graphToSvg(smallGraph());
  assert.ok(svg.startsWith(`<?xml version="1.0" encoding="UTF-8"?>\n<svg `));
  const root = parseXml(svg);
  assert.equal(root.name, "svg");
  assert.equal(root.attrs.xmlns, "http://www.w3.org/2000/svg");
  const { width, height } = layoutGraph(smallGraph());
  assert.match(root.attrs.viewBox, /^0 0 [\d.]+ [\d.]+$/);
  const [, , w, h] = root.attrs.viewBox.split(" ").map(Number);
  assert.ok(Math.abs(w - width) < 0.1 && Math.abs(h - height) < 0.1);
  // No scripts, no external references: safe to open anywhere.
  assert.ok(!/<script|href=/.test(svg));
});

Deno.test("graphToSvg() draws every node with a hover title of its full name and spans", () => {
  for (const g of [smallGraph(), resnet50Graph(), inceptionGraph()]) {
    const root = parseXml(graphToSvg(g));
    const ts = new Set(titles(root));
    for (const n of g.nodes) {
      const want = [n.name, n.op, ...(n.spans ?? []).map(formatSpan)].join("\n");
      assert.ok(ts.has(want), `no title for node ${n.name}`);
    }
    const boxes = findAll(root, "g").filter((e) => e.attrs.class?.startsWith("v "));
    assert.equal(boxes.length, g.inputs.length + g.nodes.length + g.outputs.length);
    assert.equal(findAll(root, "rect").length - 1 - legendSwatches(root), g.nodes.length);
    assert.equal(findAll(root, "ellipse").length, g.inputs.length + g.outputs.length);
  }
});

function legendSwatches(root: XmlElement): number {
  const legend = findAll(root, "g").find((e) => e.attrs.class === "legend");
  return legend ? findAll(legend, "rect").length : 0;
}

Deno.test("graphToSvg() draws every edge with an arrowhead and labels each value with its type", () => {
  const g = smallGraph();
  const root = parseXml(graphToSvg(g));
  const edges = findAll(root, "g").filter((e) => e.attrs.class === "e");
  assert.equal(edges.length, 14);
  for (const e of edges) {
    assert.equal(findAll(e, "path").length, 1);
    assert.equal(findAll(e, "polygon").length, 1);
  }
  const labels = findAll(root, "text").filter((t) => t.attrs.class === "el").map(textOf);
  // One label per value leaving a node (the fan-out of pool and of logits counted once).
  assert.equal(labels.length, 11);
  assert.ok(labels.includes("f32[N, 16, 32, 32]"));
  assert.ok(labels.includes("i64[2]"));
});

Deno.test("graphToSvg() escapes hostile names and drops characters XML forbids", () => {
  const name = `</title><script>alert("x")</script>&'\u0001`;
  const g: Graph = emptyGraph(name);
  g.inputs.push({ name: "a<b", type: { dtype: "f32", shape: ["N"] } });
  g.types.set("a<b", { dtype: "f32", shape: ["N"] });
  g.nodes.push({ name, op: "Relu", inputs: ["a<b"], outputs: ["y"], attrs: { mode: '"&"' } });
  g.types.set("y", { dtype: "f32", shape: ["N"] });
  g.outputs.push({ name: "y", type: { dtype: "f32", shape: ["N"] } });
  const root = parseXml(graphToSvg(g));
  assert.ok(titles(root).includes(`${name.replace("\u0001", "\ufffd")}\nRelu`));
  assert.equal(findAll(root, "script").length, 0);
  assert.equal(esc(`<&>"'`), "&lt;&amp;&gt;&quot;&apos;");
  assert.equal(esc("\ud800x"), "\ufffdx");
});

Deno.test("graphToSvg() lays out ResNet-50 with edges pointing down and no overlapping boxes", () => {
  const g = resnet50Graph();
  assert.equal(g.nodes.length, 175);
  const { layout, diagram, width } = layoutGraph(g);
  const at = new Map(layout.nodes.map((n) => [n.id, n]));
  for (const [k, e] of diagram.edges.entries()) {
    assert.ok(at.get(e.to)!.layer > at.get(e.from)!.layer, `${e.from} -> ${e.to}`);
    const pts = layout.edges[k].points;
    for (let i = 1; i < pts.length; i++) assert.ok(pts[i].y >= pts[i - 1].y);
  }
  const ns = layout.nodes;
  for (let i = 0; i < ns.length; i++) {
    for (let j = i + 1; j < ns.length; j++) {
      const p = ns[i], q = ns[j];
      const apart = Math.abs(p.x - q.x) >= (p.width + q.width) / 2 ||
        Math.abs(p.y - q.y) >= (p.height + q.height) / 2;
      assert.ok(apart, `${p.id} overlaps ${q.id}`);
    }
  }
  assert.equal(layout.crossings, 0);
  // Long and thin: the spine plus one lane for the skip connections.
  assert.ok(width < 800, `width ${width}`);
  // Spine of the network is one straight column: every Conv of a block's main path lines up.
  const convX = diagram.vertices.filter((v) => /^layer\d\.\d\.conv\d$/.test(v.subtitle))
    .map((v) => at.get(v.id)!.x);
  assert.ok(Math.max(...convX) - Math.min(...convX) < 60);
});

Deno.test("graphToSvg() keeps boxes of a wide Inception-style graph apart and edges downward", () => {
  const { layout, diagram } = layoutGraph(inceptionGraph());
  const at = new Map(layout.nodes.map((n) => [n.id, n]));
  for (const e of diagram.edges) assert.ok(at.get(e.to)!.layer > at.get(e.from)!.layer);
  const ns = layout.nodes;
  for (let i = 0; i < ns.length; i++) {
    for (let j = i + 1; j < ns.length; j++) {
      const p = ns[i], q = ns[j];
      assert.ok(
        Math.abs(p.x - q.x) >= (p.width + q.width) / 2 ||
          Math.abs(p.y - q.y) >= (p.height + q.height) / 2,
        `${p.id} overlaps ${q.id}`,
      );
    }
  }
  assert.equal(layout.crossings, 0);
});

Deno.test("graphToSvg() puts the labels of a two-output node on either side of it", () => {
  const root = parseXml(graphToSvg(inceptionGraph()));
  const labels = findAll(root, "text").filter((t) =>
    t.attrs.class === "el" && textOf(t) === "f32[N, 80, 1, 1]"
  );
  assert.equal(labels.length, 2);
  assert.deepEqual(labels.map((t) => t.attrs["text-anchor"] ?? "start").sort(), ["end", "start"]);
});

Deno.test("graphToSvg() renders ResNet-50 quickly and deterministically", () => {
  const g = resnet50Graph();
  const t0 = performance.now();
  const svg = graphToSvg(g);
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
  assert.equal(graphToSvg(resnet50Graph()), svg);
});

Deno.test("graphToSvg() can leave out the legend and use a custom title", () => {
  const svg = graphToSvg(smallGraph(), { title: "My net", legend: false });
  const root = parseXml(svg);
  assert.equal(findAll(root, "g").filter((e) => e.attrs.class === "legend").length, 0);
  assert.equal(textOf(findAll(root, "title")[0]), "My net");
});

Deno.test("curveXAt() follows an edge curve from its start to its end", () => {
  const p = { x: 0, y: 0 }, q = { x: 100, y: 100 };
  assert.equal(curveXAt(p, q, 0), 0);
  assert.equal(curveXAt(p, q, 100), 100);
  assert.ok(Math.abs(curveXAt(p, q, 50) - 50) < 1e-6);
  assert.ok(curveXAt(p, q, 10) < curveXAt(p, q, 20));
  assert.equal(curveXAt(p, { x: 0, y: 100 }, 30), 0);
});
