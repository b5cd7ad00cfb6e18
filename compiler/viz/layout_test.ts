import assert from "node:assert/strict";
import {
  isotonicPlace,
  type Layout,
  type LayoutEdge,
  layoutLayered,
  type LayoutNode,
} from "./layout.ts";

const box = (id: string, width = 80, height = 30): LayoutNode => ({ id, width, height });
const edge = (from: string, to: string): LayoutEdge => ({ from, to });

/** A random DAG: each node reads 1-3 of the 12 nodes before it, like a branchy network. */
function randomDag(n: number, seed: number): { nodes: LayoutNode[]; edges: LayoutEdge[] } {
  let s = seed >>> 0;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const nodes: LayoutNode[] = [];
  const edges: LayoutEdge[] = [];
  for (let i = 0; i < n; i++) {
    nodes.push(box(`v${i}`, 40 + Math.floor(rand() * 200), 20 + Math.floor(rand() * 80)));
    if (i === 0) continue;
    const k = 1 + Math.floor(rand() * 3);
    const preds = new Set<number>();
    for (let j = 0; j < k; j++) preds.add(Math.max(0, i - 1 - Math.floor(rand() * 12)));
    for (const p of preds) edges.push(edge(`v${p}`, `v${i}`));
  }
  return { nodes, edges };
}

/** The invariants every layout must satisfy. */
function assertWellFormed(l: Layout, edges: LayoutEdge[]): void {
  const at = new Map(l.nodes.map((n) => [n.id, n]));
  edges.forEach((e, k) => {
    const a = at.get(e.from)!, b = at.get(e.to)!;
    assert.ok(
      b.layer > a.layer,
      `edge ${e.from} -> ${e.to} goes from layer ${a.layer} to ${b.layer}`,
    );
    const pts = l.edges[k].points;
    assert.ok(pts.length >= 2);
    assert.equal(pts[0].y, a.y + a.height / 2, "an edge starts on its source's bottom side");
    assert.equal(
      pts[pts.length - 1].y,
      b.y - b.height / 2,
      "an edge ends on its target's top side",
    );
    for (let i = 1; i < pts.length; i++) {
      assert.ok(pts[i].y >= pts[i - 1].y, `edge ${e.from} -> ${e.to} turns upward`);
    }
  });
  for (let i = 0; i < l.nodes.length; i++) {
    const p = l.nodes[i];
    assert.ok(
      p.x - p.width / 2 >= 0 && p.x + p.width / 2 <= l.width,
      `${p.id} sticks out sideways`,
    );
    assert.ok(p.y - p.height / 2 >= 0 && p.y + p.height / 2 <= l.height, `${p.id} sticks out`);
    for (let j = i + 1; j < l.nodes.length; j++) {
      const q = l.nodes[j];
      const overlapX = Math.abs(p.x - q.x) < (p.width + q.width) / 2;
      const overlapY = Math.abs(p.y - q.y) < (p.height + q.height) / 2;
      assert.ok(!(overlapX && overlapY), `boxes ${p.id} and ${q.id} overlap`);
    }
  }
}

Deno.test("layoutLayered() places a chain on consecutive layers in one straight column", () => {
  const nodes = [box("a", 60), box("b", 200), box("c", 40), box("d", 120)];
  const edges = [edge("a", "b"), edge("b", "c"), edge("c", "d")];
  const l = layoutLayered(nodes, edges);
  assert.deepEqual(l.nodes.map((n) => n.layer), [0, 1, 2, 3]);
  assert.equal(new Set(l.nodes.map((n) => n.x)).size, 1);
  assert.equal(l.crossings, 0);
  assertWellFormed(l, edges);
});

Deno.test("layoutLayered() keeps every edge pointing down and no boxes overlapping on random DAGs", () => {
  for (const seed of [1, 2, 3, 42, 1234]) {
    const { nodes, edges } = randomDag(150, seed);
    assertWellFormed(layoutLayered(nodes, edges), edges);
  }
});

Deno.test("layoutLayered() routes a long edge straight down beside the boxes it skips", () => {
  // A residual block: x -> f1 -> f2 -> f3 -> add, and x -> add.
  const nodes = ["x", "f1", "f2", "f3", "add"].map((id) => box(id, 100));
  const edges = [
    edge("x", "f1"),
    edge("f1", "f2"),
    edge("f2", "f3"),
    edge("f3", "add"),
    edge("x", "add"),
  ];
  const l = layoutLayered(nodes, edges);
  assertWellFormed(l, edges);
  const skip = l.edges[4].points;
  // Through the three skipped layers the route is one vertical line clear of the boxes.
  const inner = skip.slice(1, -1);
  assert.equal(new Set(inner.map((p) => p.x)).size, 1);
  for (const id of ["f1", "f2", "f3"]) {
    const n = l.nodes.find((n) => n.id === id)!;
    assert.ok(Math.abs(inner[0].x - n.x) > n.width / 2, `skip edge runs through ${id}`);
  }
  // The main path stays one straight column.
  assert.equal(new Set(l.nodes.slice(1, 4).map((n) => n.x)).size, 1);
});

Deno.test("layoutLayered() pulls a source down to just above its first consumer", () => {
  const nodes = ["in1", "a", "b", "c", "d", "in2"].map((id) => box(id));
  const edges = [
    edge("in1", "a"),
    edge("a", "b"),
    edge("b", "c"),
    edge("c", "d"),
    edge("in2", "d"),
  ];
  const l = layoutLayered(nodes, edges);
  assert.equal(l.nodes[5].layer, 3);
  assertWellFormed(l, edges);
});

Deno.test("layoutLayered() counts the unavoidable crossings of K3,3", () => {
  const top = ["a", "b", "c"], bottom = ["x", "y", "z"];
  const edges = top.flatMap((t) => bottom.map((b) => edge(t, b)));
  const l = layoutLayered([...top, ...bottom].map((id) => box(id)), edges);
  // Any two-layer drawing of K(m,n) has C(m,2) * C(n,2) crossings.
  assert.equal(l.crossings, 9);
  assertWellFormed(l, edges);
});

Deno.test("layoutLayered() untangles a crossing that the first ordering makes", () => {
  // Depth-first discovery puts p1 before p2 but their children in the opposite order.
  const nodes = ["r", "p1", "p2", "c2", "c1"].map((id) => box(id));
  const edges = [edge("r", "p1"), edge("r", "p2"), edge("p2", "c2"), edge("p1", "c1")];
  const l = layoutLayered(nodes, edges);
  assert.equal(l.crossings, 0);
  const x = (id: string) => l.nodes.find((n) => n.id === id)!.x;
  assert.equal(x("p1") < x("p2"), x("c1") < x("c2"));
});

Deno.test("layoutLayered() sends edges of one value out of one port and different values out of different ports", () => {
  const nodes = ["split", "a", "b", "c"].map((id) => box(id, 120));
  const edges: LayoutEdge[] = [
    { from: "split", to: "a", fromKey: "v0" },
    { from: "split", to: "b", fromKey: "v0" },
    { from: "split", to: "c", fromKey: "v1" },
  ];
  const l = layoutLayered(nodes, edges);
  const start = l.edges.map((e) => e.points[0].x);
  assert.equal(start[0], start[1]);
  assert.notEqual(start[0], start[2]);
});

Deno.test("layoutLayered() breaks a cycle instead of looping, leaving the closing edge unrouted", () => {
  const nodes = ["a", "b", "c"].map((id) => box(id));
  const edges = [edge("a", "b"), edge("b", "c"), edge("c", "a")];
  const l = layoutLayered(nodes, edges);
  assert.deepEqual(l.edges.map((e) => e.points.length > 0), [true, true, false]);
  assert.deepEqual(l.nodes.map((n) => n.layer), [0, 1, 2]);
});

Deno.test("layoutLayered() of nothing is an empty picture", () => {
  const l = layoutLayered([], []);
  assert.deepEqual(l.nodes, []);
  assert.equal(l.layerCount, 0);
  assert.equal(l.width, 32);
});

Deno.test("layoutLayered() rejects edges that name unknown nodes", () => {
  assert.throws(() => layoutLayered([box("a")], [edge("a", "zz")]), /unknown node/);
});

Deno.test("layoutLayered() is deterministic and fast on a 2000-node graph", () => {
  const { nodes, edges } = randomDag(2000, 7);
  const t0 = performance.now();
  const l1 = layoutLayered(nodes, edges);
  const ms = performance.now() - t0;
  assert.deepEqual(layoutLayered(nodes, edges), l1);
  assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
});

Deno.test("isotonicPlace() keeps order and gaps with the least squared movement", () => {
  // Targets in the wrong order meet in the middle, the gap apart.
  assert.deepEqual(isotonicPlace([10, 0], [1, 1], [0, 5]), [2.5, 7.5]);
  // Heavier vertices move less.
  assert.deepEqual(isotonicPlace([10, 0], [3, 1], [0, 4]), [6.5, 10.5]);
  // Targets already far enough apart are kept.
  assert.deepEqual(isotonicPlace([0, 20, 50], [1, 1, 1], [0, 10, 10]), [0, 20, 50]);
});
