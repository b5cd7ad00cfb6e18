/**
 * sum_as_matmul: a ReduceSum over leading axes becomes a MatMul by a row of ones with the same
 * outputs (static and symbolic leading dims, keepdims either way, negative axes); other sums and
 * eval mode are left alone; a training step's bias gradients go through it and the step computes
 * the same values.
 */
import assert from "node:assert/strict";
import type { Graph } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { packedStep } from "../train/testing.ts";
import { applyPass, assertSameOutputs, randomFeeds, withTuning } from "./testing.ts";
import { sumAsMatmul, sumAsMatmulTuning } from "./sum_as_matmul.ts";

/** y = ReduceSum(x, axes) with x a graph input. */
function sum(
  shape: (number | string)[],
  axes: number[],
  keepdims?: number,
  dtype: "f32" | "f64" = "f32",
): Graph {
  const b = new GraphBuilder("sum");
  const x = b.input("x", { dtype, shape });
  const a = b.initializer("axes", tensor("i64", [axes.length], axes));
  b.output(
    b.addNode("ReduceSum", [x, a], keepdims === undefined ? {} : { keepdims })[0],
    "y",
  );
  return b.graph;
}

const train = { mode: "train" as const };

Deno.test("a ReduceSum over leading axes becomes a MatMul by a row of ones with the same outputs", () => {
  const cases: [(number | string)[], number[], number | undefined, boolean][] = [
    [["N", 8, 64], [0, 1], 0, true], // a symbolic batch: the ones from Shape and ConstantOfShape
    [[8, 8, 64], [0, 1], 0, false], // static: a constant row
    [[8, 8, 64], [0], 1, false], // keepdims
    [["N", 3, 8, 32], [-4, -3], undefined, true], // negative axes, keepdims by default
    [[64, 100], [0], 0, false],
  ];
  for (const [shape, axes, keepdims, symbolic] of cases) {
    const g = sum(shape, axes, keepdims);
    const r = applyPass(g, sumAsMatmul, train);
    const what = JSON.stringify([shape, axes, keepdims]);
    assert.equal(r.changed, true, what);
    assert.ok(!r.graph.nodes.some((n) => n.op === "ReduceSum"), what);
    assert.ok(r.graph.nodes.some((n) => n.op === "MatMul"), what);
    assert.equal(r.graph.nodes.some((n) => n.op === "ConstantOfShape"), symbolic, what);
    assert.equal(r.graph.nodes.at(-1)!.outputs[0], "y");
    assert.deepEqual(r.graph.types.get("y"), g.types.get("y"));
    assertSameOutputs(g, r.graph, randomFeeds(g, 3, { N: 5 }), { rtol: 1e-5, atol: 1e-5 });
  }
});

Deno.test("sums over other axes, all axes, few elements, other dtypes, and eval mode are left alone", () => {
  const cases: Graph[] = [
    sum([4, 8, 64], [1]), // not leading
    sum([4, 8, 64], [0, 2]), // not a prefix
    sum([4, 8, 64], [0, 1, 2]), // every axis
    sum([64, 10], [0], 0), // 10 columns
    sum([4, 64], [0], 0), // 256 elements
    sum(["N", 64], [0], 0), // 8 x 64 elements for a batch of 8
    sum(["N", "T", 64], [0], 0), // a symbolic trailing dim
    sum([4, 8, 64], [0, 1], 0, "f64"),
  ];
  for (const g of cases) assert.equal(applyPass(g, sumAsMatmul, train).changed, false);
  assert.equal(applyPass(sum([4, 8, 64], [0, 1], 0), sumAsMatmul, { mode: "eval" }).changed, false);
});

/** A small MLP's training step, the rewrite on or off. */
function step(src: string, minColumns: number): Graph {
  return withTuning(sumAsMatmulTuning, { minColumns }, () => packedStep(src));
}

Deno.test("a training step's bias gradients are MatMuls by one shared row of ones and the step computes the same values", () => {
  const src = `model M {
  input x: f32[N, 16, 32]
  output y = x |> a: linear(96) |> gelu |> ln: layer_norm |> b: linear(64)
}
train M { loss = reduce_mean(y * y)  optimizer = adamw(lr: 0.01) }`;
  const before = step(src, Infinity), after = step(src, 64);
  const sums = (g: Graph) => g.nodes.filter((n) => /\/reducesum(_\d+)?\/matmul\//.test(n.name));
  assert.equal(sums(before).length, 0);
  // The biases' and the layer norm's sums (four, over [N, 16]) share one row of ones.
  assert.ok(sums(after).filter((n) => n.op === "MatMul").length >= 4);
  assert.equal(sums(after).filter((n) => n.op === "ConstantOfShape").length, 1);
  const feeds = randomFeeds(before, 5, { N: 3 });
  for (const [k, t] of Object.entries(feeds)) {
    if (!k.startsWith("opt:")) continue;
    feeds[k] = { ...t, data: (t.data as Float32Array).map((v) => Math.abs(v) * 0.1) };
  }
  assertSameOutputs(before, after, feeds, { rtol: 1e-4, atol: 1e-5 });
});
