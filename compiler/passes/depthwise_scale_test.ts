/**
 * depthwise_scale: a one-tap depthwise Conv becomes a Mul by its weight (and an Add of its
 * bias) with the same outputs; other convolutions, and eval mode, are left alone; a training
 * step of a 3x3 depthwise layer on 1x1 maps has no grouped Conv left.
 */
import assert from "node:assert/strict";
import type { AttrValue } from "../ir/graph.ts";
import { compileTrain } from "../train/mod.ts";
import { applyPass, assertSameOutputs, convGraph, ops, randomFeeds } from "./testing.ts";
import { depthwiseScale } from "./depthwise_scale.ts";

const train = { mode: "train" as const };

Deno.test("a depthwise Conv of one tap becomes a Mul by its weight, and an Add of its bias", () => {
  for (const bias of [false, true]) {
    const g = convGraph([2, 4, 3, 3], [4, 1, 1, 1], { group: 4, kernel_shape: [1, 1] }, bias);
    const r = applyPass(g, depthwiseScale, train);
    assert.equal(r.changed, true);
    assert.deepEqual(
      ops(r.graph),
      bias ? ["Reshape", "Reshape", "Mul", "Add"] : ["Reshape", "Mul"],
    );
    // The output keeps its name and its producer the Conv's name.
    const last = r.graph.nodes.at(-1)!;
    assert.equal(last.outputs[0], g.nodes[0].outputs[0]);
    assert.ok(r.graph.nodes.some((n) => n.op === "Mul" && n.name === g.nodes[0].name));
    assertSameOutputs(g, r.graph, randomFeeds(g));
  }
  // 1-D, explicit zero pads.
  const d1 = convGraph([3, 5, 7], [5, 1, 1], { group: 5, pads: [0, 0], strides: [1] });
  const r1 = applyPass(d1, depthwiseScale, train);
  assert.equal(r1.changed, true);
  assertSameOutputs(d1, r1.graph, randomFeeds(d1));
});

Deno.test("convolutions that are no per-channel scale, and eval mode, are left alone", () => {
  const cases: [number[], number[], Record<string, AttrValue>][] = [
    [[2, 4, 3, 3], [4, 4, 1, 1], {}], // ungrouped
    [[2, 4, 3, 3], [4, 1, 3, 3], { group: 4, pads: [1, 1, 1, 1] }], // nine taps
    [[2, 4, 4, 4], [4, 1, 1, 1], { group: 4, strides: [2, 2] }], // strided
    [[2, 4, 3, 3], [4, 1, 1, 1], { group: 4, pads: [1, 1, 1, 1] }], // padded
    [[2, 4, 3, 3], [8, 1, 1, 1], { group: 4 }], // a channel multiplier
    [[2, 4, 3, 3], [2, 2, 1, 1], { group: 2 }], // two channels a group
  ];
  for (const [x, w, attrs] of cases) {
    assert.equal(
      applyPass(convGraph(x, w, attrs), depthwiseScale, train).changed,
      false,
      JSON.stringify(attrs),
    );
  }
  const g = convGraph([2, 4, 3, 3], [4, 1, 1, 1], { group: 4 });
  assert.equal(applyPass(g, depthwiseScale, { mode: "eval" }).changed, false);
});

Deno.test("a training step of a 3x3 depthwise layer on 1x1 maps scales by the centre tap and keeps the whole weight", () => {
  const src = `model M {
  input x: f32[N, 8, 1, 1]
  output y: f32[N, 8, 1, 1] = x |> c: conv2d(8, kernel: 3, pad: 1, groups: 8)
}
train M { loss = reduce_mean(y * y)  optimizer = sgd(lr: 0.1, momentum: 0.9) }`;
  const c = compileTrain("m.dlm", { read: () => src });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const step = c.step!;
  assert.ok(!step.nodes.some((n) => n.op === "Conv" || n.op === "ConvTranspose"));
  assert.deepEqual(step.inputs.find((i) => i.name === "c.weight")!.type.shape, [8, 1, 3, 3]);
  assert.deepEqual(step.outputs.find((o) => o.name === "next:c.weight")!.type.shape, [8, 1, 3, 3]);
});
