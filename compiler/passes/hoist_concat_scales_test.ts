import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import type { Graph, TensorType } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { hoistConcatScales } from "./hoist_concat_scales.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds } from "./testing.ts";
import { compileTrain } from "../train/compile.ts";
import { runGraph } from "../../runtime/reference/mod.ts";

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: "f32", shape });

/**
 * A pack's gradient as a packed step builds it: Concat(w, a * s_a, ..., e * s_e, k * 2, d), where
 * the s are the shared factor n times a constant (a batch norm's count N H W), k's scale is a
 * constant and w, d are not scaled.
 */
function packGradient(opts: { unscaled?: boolean; constantPart?: boolean } = {}) {
  const { unscaled = true, constantPart = true } = opts;
  const b = new GraphBuilder("pack");
  const n = b.input("n", f32(1));
  const parts: string[] = [];
  if (unscaled) parts.push(b.input("w", f32(5)));
  for (const [name, hw] of [["a", 16], ["b", 16], ["c", 4], ["e", 4], ["f", 1]] as const) {
    const v = b.input(name, f32(3));
    const k = b.initializer(`${name}_hw`, tensor("f32", [1], [hw]));
    const [count] = b.addNode("Mul", [n, k], {}, { name: `${name}_count` });
    parts.push(b.addNode("Mul", [v, count], {}, { name: `${name}_scaled` })[0]);
  }
  if (constantPart) {
    const c = b.input("k", f32(2));
    const two = b.initializer("two", tensor("f32", [], [2]));
    parts.push(b.addNode("Mul", [two, c], {}, { name: "k_scaled" })[0]);
  }
  if (unscaled) parts.push(b.input("d", f32(1)));
  b.output(b.addNode("Concat", parts, { axis: 0 }, { outputs: ["grad"] })[0]);
  return b.graph;
}

/** Feeds with a batch size (n) that is a count, and other values random. */
function feeds(g: Graph, n = 16) {
  return { ...randomFeeds(g, 3), n: tensor("f32", [1], [n]) };
}

const counts = Array.from({ length: 6 }, () => ["Mul"]).flat();

Deno.test("hoistConcatScales() takes a run of parts' scalings out of a Concat as one vector, bit for bit", () => {
  const before = packGradient();
  const { graph, changed } = applyPass(before, hoistConcatScales, { mode: "train" });
  assert.ok(changed);
  // Five parts scaled by counts and one by a constant, between two that are not: six Muls for a
  // Concat of the run, a Mul and a Where making its scales, and their product.
  const ran = ops(graph);
  assert.deepEqual(ran.slice(5), ["Concat", "Mul", "Where", "Mul", "Concat"]);
  assert.equal(ran.filter((o) => o === "Mul").length, 5 + 2);
  const [inner, factors, where, product, outer] = graph.nodes.slice(5);
  assert.deepEqual(inner.inputs, ["a", "b", "c", "e", "f", "k"]);
  assert.deepEqual(outer.inputs, ["w", product.outputs[0], "d"]);
  assert.deepEqual(outer.outputs, ["grad"]);
  assert.equal(factors.inputs[0], "n");
  assert.deepEqual([...graph.initializers.get(factors.inputs[1])!.data], [
    ...[16, 16, 16, 16, 16, 16, 4, 4, 4, 4, 4, 4, 1, 1, 1],
    ...[0, 0],
  ]);
  const [mask, , constants] = where.inputs;
  assert.deepEqual([...graph.initializers.get(mask)!.data], [
    ...Array(15).fill(1),
    ...[0, 0],
  ]);
  assert.deepEqual([...graph.initializers.get(constants)!.data], [...Array(15).fill(0), 2, 2]);
  assert.deepEqual(product.inputs, [inner.outputs[0], where.outputs[0]]);
  assertSameOutputs(before, graph, feeds(before), { rtol: 0, atol: 0 });
  // A factor that is not finite leaves the constant-scaled part as it was.
  const inf = feeds(before, Infinity);
  const want = runGraph(before, inf).outputs.grad.data,
    got = runGraph(graph, inf).outputs.grad.data;
  assert.deepEqual([...got], [...want]);
});

Deno.test("hoistConcatScales() needs no inner Concat for the whole, no Where when every part takes the factor, and no factor for constants", () => {
  const shared = packGradient({ unscaled: false, constantPart: false });
  const a = applyPass(shared, hoistConcatScales, { mode: "train" });
  assert.deepEqual(ops(a.graph), [...counts.slice(1), "Mul", "Concat", "Mul"]);
  assert.deepEqual(a.graph.nodes.at(-2)!.inputs, ["a", "b", "c", "e", "f"]);
  assert.deepEqual(a.graph.nodes.at(-1)!.outputs, ["grad"]);
  assertSameOutputs(shared, a.graph, feeds(shared), { rtol: 0, atol: 0 });

  const b = new GraphBuilder("constants");
  const half = b.initializer("half", tensor("f32", [1], [0.5]));
  const parts = ["p", "q", "r"].map((name) =>
    b.addNode("Mul", [b.input(name, f32(2)), half], {}, { name: `${name}_scaled` })[0]
  );
  b.output(b.addNode("Concat", parts, { axis: 0 }, { outputs: ["grad"] })[0]);
  const c = applyPass(b.graph, hoistConcatScales, { mode: "train" });
  assert.deepEqual(ops(c.graph), ["Concat", "Mul"]);
  assert.deepEqual([...c.graph.initializers.get(c.graph.nodes[1].inputs[1])!.data], [
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
  ]);
  assertSameOutputs(b.graph, c.graph, randomFeeds(b.graph, 1), { rtol: 0, atol: 0 });
});

Deno.test("hoistConcatScales() leaves a Concat where it would not save nodes, or a part read elsewhere", () => {
  // Two parts with the factor: two Muls out, two in plus the Where.
  const b = new GraphBuilder("two");
  const n = b.input("n", f32());
  const parts = ["p", "q"].map((name) =>
    b.addNode("Mul", [b.input(name, f32(2)), n], {}, { name: `${name}_scaled` })[0]
  );
  parts.push(b.input("r", f32(2)));
  b.output(b.addNode("Concat", parts, { axis: 0 }, { outputs: ["grad"] })[0]);
  assert.equal(applyPass(b.graph, hoistConcatScales, { mode: "train" }).changed, false);

  // Every scaled part also read by another node: nothing to take out.
  const g = packGradient();
  for (const x of g.nodes.filter((x) => x.op === "Mul" && x.name.endsWith("_scaled"))) {
    g.outputs.push({ name: x.outputs[0], type: g.types.get(x.outputs[0])! });
  }
  assert.equal(applyPass(g, hoistConcatScales, { mode: "train" }).changed, false);

  // A Concat of matrices, not vectors.
  const m = new GraphBuilder("matrices");
  const s = m.input("s", f32(1));
  const ms = ["p", "q", "r", "t"].map((name) =>
    m.addNode("Mul", [m.input(name, f32(2, 2)), s], {}, { name: `${name}_scaled` })[0]
  );
  m.output(m.addNode("Concat", ms, { axis: 0 }, { outputs: ["y"] })[0]);
  assert.equal(applyPass(m.graph, hoistConcatScales, { mode: "train" }).changed, false);
});

Deno.test("a packed step's batch norm gradients go into the pack's gradient as means, scaled once per pack", () => {
  const src = `model M {
  input x: f32[N, 4, 6, 6]
  output y = x ${
    [0, 1, 2].map((i) => `|> c${i}: conv2d(4, kernel: 3, pad: 1, bias: false) |> b${i}: batch_norm`)
      .join(" ")
  }
}
train M { loss = reduce_mean(y * y)  optimizer = sgd(lr: 0.1) }`;
  const r = compileTrain("m.dlm", { read: () => src, pack: true });
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === "error"), []);
  const g = r.step!;
  const readers = (v: string) => g.nodes.filter((n) => n.inputs.includes(v)).map((n) => n.op);
  // Per batch norm the means of g and g xhat over N, H and W: each read by the batch norm that
  // makes h and by the pack's gradient, none scaled by its count.
  const means = g.nodes.filter((n) =>
    n.op === "ReduceMean" && g.types.get(n.outputs[0])!.shape.join() === "4"
  );
  assert.equal(means.length, 6);
  for (const m of means) {
    assert.deepEqual(readers(m.outputs[0]).sort(), ["BatchNormalization", "Concat"]);
  }
  const concat = g.nodes.find((n) =>
    n.op === "Concat" && means.some((m) => n.inputs.includes(m.outputs[0]))
  )!;
  assert.deepEqual(readers(concat.outputs[0]), ["Mul"]);
});
