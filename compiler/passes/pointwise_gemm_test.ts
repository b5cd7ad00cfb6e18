/**
 * pointwise_gemm: a one-tap Conv of a parameter weight on maps of one position becomes a Gemm
 * with the same outputs, whatever its channel count; other convolutions, constant weights and
 * eval mode are left alone; a training step's squeeze-and-excitation block has no Conv and no
 * Reshape between its two layers.
 */
import assert from "node:assert/strict";
import type { AttrValue, Graph } from "../ir/graph.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { tensor } from "../ir/tensor.ts";
import { compileTrain } from "../train/mod.ts";
import { applyPass, assertSameOutputs, convGraph, ops, randomFeeds } from "./testing.ts";
import { pointwiseGemm } from "./pointwise_gemm.ts";

const train = { mode: "train" as const };

Deno.test("a one-tap Conv on 1x1 maps becomes Reshape, Gemm, Reshape with the same outputs", () => {
  const cases: [(number | string)[], number[], Record<string, AttrValue>][] = [
    [[3, 4, 1, 1], [6, 4, 1, 1], {}],
    [["N", 2, 1, 1], [5, 2, 1, 1], { pads: [0, 0, 0, 0], strides: [1, 1] }], // symbolic batch
    [[2, 3, 1], [4, 3, 1], {}], // 1-D
    [[2, 3, 1, 1, 1], [4, 3, 1, 1, 1], {}], // 3-D
  ];
  for (const [x, w, attrs] of cases) {
    for (const bias of [false, true]) {
      const g = convGraph(x, w, attrs, bias);
      const r = applyPass(g, pointwiseGemm, train);
      assert.equal(r.changed, true, JSON.stringify([x, attrs, bias]));
      assert.deepEqual(ops(r.graph), ["Reshape", "Reshape", "Gemm", "Reshape"]);
      assert.equal(r.graph.nodes.at(-1)!.outputs[0], "y");
      for (const N of [1, 3]) assertSameOutputs(g, r.graph, randomFeeds(g, 7 + N, { N }));
    }
  }
});

Deno.test("pointwise_gemm leaves larger maps, more taps, strides, pads, groups, constant weights and eval mode", () => {
  const cases: [number[], number[], Record<string, AttrValue>][] = [
    [[2, 4, 2, 2], [6, 4, 1, 1], {}], // four positions
    [[2, 4, 1, 1], [6, 4, 3, 3], { pads: [1, 1, 1, 1] }], // nine taps (trim_conv_taps' to cut)
    [[2, 4, 1, 1], [6, 4, 1, 1], { pads: [1, 1, 1, 1] }], // padded: a 3x3 output
    [[2, 4, 1, 1], [4, 2, 1, 1], { group: 2 }],
  ];
  for (const [x, w, attrs] of cases) {
    assert.equal(
      applyPass(convGraph(x, w, attrs), pointwiseGemm, train).changed,
      false,
      JSON.stringify([x, w, attrs]),
    );
  }
  const b = new GraphBuilder("conv");
  const x = b.input("x", { dtype: "f32", shape: [2, 4, 1, 1] });
  const w = b.initializer("w", tensor("f32", [3, 4, 1, 1], new Array(12).fill(0.5)));
  b.output(b.addNode("Conv", [x, w], {})[0], "y");
  assert.equal(applyPass(b.graph, pointwiseGemm, train).changed, false);
  const g: Graph = convGraph([2, 4, 1, 1], [6, 4, 1, 1], {});
  assert.equal(applyPass(g, pointwiseGemm, { mode: "eval" }).changed, false);
});

Deno.test("a training step's squeeze-and-excitation: Gemms, the SiLU between them on [N, R], no Conv", () => {
  const src = `block SE(reduced: int)(x: f32[N, C, H, W]) {
  return x |> adaptive_avg_pool(1) |> fc1: conv2d(reduced, kernel: 1) |> silu
    |> fc2: conv2d(C, kernel: 1) |> sigmoid
}
model M {
  input x: f32[N, 16, 4, 4]
  output y: f32[N, 16, 4, 4] = x * SE(4)(x)
}
train M { loss = reduce_mean(y * y)  optimizer = sgd(lr: 0.1, momentum: 0.9) }`;
  const c = compileTrain("m.dlm", { read: () => src });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const step = c.step!;
  assert.ok(!step.nodes.some((n) => n.op === "Conv" || n.op === "ConvTranspose"));
  // The SiLU reads the first Gemm, and the second Gemm reads the SiLU: no Reshape between.
  const producer = new Map(step.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const silu = step.nodes.find((n) =>
    n.op === "Sigmoid" && producer.get(n.inputs[0])?.op === "Gemm"
  );
  assert.ok(silu, "a Sigmoid of a Gemm");
  const mul = step.nodes.find((n) => n.op === "Mul" && n.inputs.includes(silu.outputs[0]))!;
  assert.ok(step.nodes.some((n) => n.op === "Gemm" && n.inputs[0] === mul.outputs[0]));
  // Parameters keep their declared shapes.
  assert.deepEqual(step.inputs.find((i) => i.name === "SE_0.fc1.weight")!.type.shape, [
    4,
    16,
    1,
    1,
  ]);
  assert.deepEqual(step.outputs.find((o) => o.name === "next:SE_0.fc2.weight")!.type.shape, [
    16,
    4,
    1,
    1,
  ]);
});
