/**
 * depthwise_matrix: a depthwise Conv on small maps becomes a batched MatMul by per-channel
 * matrices with the same outputs (1-D and 2-D, strides, dilations, asymmetric pads, a bias, a
 * symbolic batch); other convolutions, large maps and eval mode are left alone; a training step
 * through the matrices computes the step of the Conv.
 */
import assert from "node:assert/strict";
import type { AttrValue, Graph } from "../ir/graph.ts";
import { toNumbers } from "../ir/tensor.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { packedStep } from "../train/testing.ts";
import { applyPass, assertSameOutputs, convGraph, randomFeeds, withTuning } from "./testing.ts";
import { depthwiseMatrix, depthwiseMatrixTuning, tapMatrix } from "./depthwise_matrix.ts";

const train = { mode: "train" as const };

Deno.test("a depthwise or grouped Conv on small maps becomes one batched MatMul with the Conv's outputs", () => {
  const cases: [(number | string)[], number[], Record<string, AttrValue>, boolean][] = [
    [[2, 4, 2, 2], [4, 1, 3, 3], { group: 4, pads: [1, 1, 1, 1] }, false],
    [[3, 5, 4, 4], [5, 1, 3, 3], { group: 5, pads: [1, 1, 1, 1], strides: [2, 2] }, true],
    // Asymmetric pads, a dilation, a 2x1 kernel, a symbolic batch.
    [["N", 3, 5, 4], [3, 1, 2, 3], { group: 3, pads: [0, 2, 1, 0], dilations: [2, 1] }, true],
    [[2, 6, 3, 3], [6, 1, 3, 3], { group: 6, auto_pad: "SAME_UPPER" }, false],
    // 1-D.
    [[2, 4, 7], [4, 1, 3], { group: 4, pads: [1, 2], strides: [2] }, true],
    // Grouped: two channels a group; a channel multiplier; 3 groups of 2 in, 4 out, strided.
    [[2, 4, 2, 2], [4, 2, 3, 3], { group: 2, pads: [1, 1, 1, 1] }, true],
    [[2, 4, 2, 2], [8, 1, 3, 3], { group: 4, pads: [1, 1, 1, 1] }, false],
    [["N", 6, 3, 3], [12, 2, 3, 3], { group: 3, pads: [1, 0, 1, 1], strides: [2, 1] }, true],
  ];
  for (const [x, w, attrs, bias] of cases) {
    const g = convGraph(x, w, attrs, bias);
    const r = applyPass(g, depthwiseMatrix, train);
    assert.equal(r.changed, true, JSON.stringify(attrs));
    assert.ok(!r.graph.nodes.some((n) => n.op === "Conv"));
    assert.ok(r.graph.nodes.some((n) => n.op === "MatMul"));
    // The output keeps its name.
    assert.equal(r.graph.nodes.at(-1)!.outputs[0], g.nodes[0].outputs[0]);
    assertSameOutputs(g, r.graph, randomFeeds(g, 7, { N: 3 }), { rtol: 1e-5, atol: 1e-6 });
  }
});

Deno.test("tapMatrix() maps each tap of each output position to the input position it reads", () => {
  // 1-D: 3 inputs, kernel 3, pad 1, stride 1: output o reads o - 1, o, o + 1 where they exist.
  const s = tapMatrix("f32", {
    kernel: [3],
    strides: [1],
    dil: [1],
    pads: [1, 1],
    inSp: [3],
    outSp: [3],
  });
  assert.deepEqual(s.shape, [3, 9]);
  // S[k, (o, i)]: rows are taps, columns (o, i) row-major.
  assert.deepEqual(toNumbers(s), [
    ...[0, 0, 0, 1, 0, 0, 0, 1, 0], // tap 0 reads i = o - 1
    ...[1, 0, 0, 0, 1, 0, 0, 0, 1], // tap 1 reads i = o
    ...[0, 1, 0, 0, 0, 1, 0, 0, 0], // tap 2 reads i = o + 1
  ]);
});

Deno.test("ungrouped convolutions, groups with too many matrix entries, and eval mode are left alone", () => {
  const cases: [number[], number[], Record<string, AttrValue>][] = [
    [[2, 4, 2, 2], [4, 4, 3, 3], { pads: [1, 1, 1, 1] }], // ungrouped
    [[2, 4, 9, 9], [4, 1, 3, 3], { group: 4, pads: [1, 1, 1, 1] }], // 81 x 81 pairs
    // Groups of 16 channels on 4x4 maps: (16 x 16) x (16 x 16) entries a group.
    [[2, 64, 4, 4], [64, 16, 3, 3], { group: 4, pads: [1, 1, 1, 1] }],
  ];
  for (const [x, w, attrs] of cases) {
    assert.equal(
      applyPass(convGraph(x, w, attrs), depthwiseMatrix, train).changed,
      false,
      JSON.stringify([x, w, attrs]),
    );
  }
  const g = convGraph([2, 4, 2, 2], [4, 1, 3, 3], { group: 4, pads: [1, 1, 1, 1] });
  assert.equal(applyPass(g, depthwiseMatrix, { mode: "eval" }).changed, false);
  // An f64 layer.
  const b = new GraphBuilder("conv");
  const x = b.input("x", { dtype: "f64", shape: [2, 4, 2, 2] });
  const w = b.input("w", { dtype: "f64", shape: [4, 1, 3, 3] });
  b.output(b.addNode("Conv", [x, w], { group: 4, pads: [1, 1, 1, 1] })[0], "y");
  assert.equal(applyPass(b.graph, depthwiseMatrix, train).changed, false);
});

/** The training step of a depthwise layer between two pointwise ones, the matrices on or off. */
function step(src: string, maxPairs: number): Graph {
  return withTuning(depthwiseMatrixTuning, { maxPairs }, () => packedStep(src));
}

for (const groups of [24, 4]) {
  Deno.test(`a training step through the matrices computes the step of the Conv (${groups} groups)`, () => {
    stepMatches(groups);
  });
}

function stepMatches(groups: number) {
  const src = `model M {
  input x: f32[N, 16, 4, 4]
  output y = x |> a: conv2d(24, kernel: 1, bias: false) |> an: batch_norm |> relu6
    |> d: conv2d(24, kernel: 3, pad: 1, stride: 2, groups: ${groups}) |> dn: batch_norm |> relu6
    |> b: conv2d(16, kernel: 1)
}
train M { loss = reduce_mean(y * y)  optimizer = sgd(lr: 0.1, momentum: 0.9) }`;
  const before = step(src, 0), after = step(src, 4096);
  const grouped = (g: Graph) =>
    g.nodes.filter((n) => (n.op === "Conv" || n.op === "ConvTranspose") && n.attrs.group);
  assert.ok(grouped(before).length > 0);
  assert.equal(grouped(after).length, 0);
  // The weight keeps its name and shape in the step's inputs and outputs.
  assert.deepEqual(before.inputs.map((v) => v.name), after.inputs.map((v) => v.name));
  const feeds = randomFeeds(before, 3, { N: 4 });
  for (const [k, t] of Object.entries(feeds)) {
    if (!k.startsWith("opt:momentum:")) continue;
    feeds[k] = { ...t, data: (t.data as Float32Array).map((v) => v * 0.1) };
  }
  assertSameOutputs(before, after, feeds, { rtol: 1e-4, atol: 1e-5 });
}
