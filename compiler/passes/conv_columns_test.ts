/**
 * conv_columns: a Conv of a parameter weight on small maps becomes a Gemm over the batch's
 * columns with the same outputs; large maps, constant weights, groups and eval mode are left
 * alone; in a training step the columns are shared with the weight gradient's.
 */
import assert from "node:assert/strict";
import type { AttrValue, Graph } from "../ir/graph.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { compileTrain } from "../train/mod.ts";
import { numel, tensor } from "../ir/tensor.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds } from "./testing.ts";
import { convColumns } from "./conv_columns.ts";
import { convGradTuning } from "../ops/conv.ts";

/** y = Conv(x, w[, b]) with every operand a graph input (a constant w with `constW`). */
function conv(
  x: (number | string)[],
  w: number[],
  attrs: Record<string, AttrValue>,
  opts: { bias?: boolean; constW?: boolean } = {},
): Graph {
  const b = new GraphBuilder("conv");
  const weight = opts.constW
    ? b.initializer("w", tensor("f32", w, new Array(w.reduce((a, d) => a * d, 1)).fill(0.5)))
    : b.input("w", { dtype: "f32", shape: w });
  const inputs = [
    b.input("x", { dtype: "f32", shape: x }),
    weight,
    ...(opts.bias ? [b.input("b", { dtype: "f32", shape: [w[0]] })] : []),
  ];
  b.output(b.addNode("Conv", inputs, attrs)[0], "y");
  return b.graph;
}

const train = { mode: "train" as const };

Deno.test("a Conv on small maps becomes one Gemm over the batch's columns, with the same outputs", () => {
  const cases: [number[], number[], Record<string, AttrValue>][] = [
    [[3, 16, 2, 2], [5, 16, 3, 3], { pads: [1, 1, 1, 1] }],
    [[2, 16, 4, 4], [6, 16, 3, 3], { pads: [1, 0, 1, 2], strides: [2, 2] }], // asymmetric pads
    [[2, 16, 5, 5], [4, 16, 2, 2], { dilations: [2, 2], strides: [2, 1], pads: [0, 1, 0, 0] }],
    [[2, 16, 4, 4], [4, 16, 1, 1], { strides: [2, 2] }], // one tap, strided
    [[2, 16, 3, 3], [4, 16, 1, 1], {}], // one tap: the columns are x itself
    [[2, 16, 7], [4, 16, 3], { pads: [1, 1], strides: [2] }], // 1-D
    [[2, 16, 2, 2], [4, 16, 3, 3], { pads: [1, 1, 1, 1], strides: [2, 2] }], // one output position
    [[3, 16, 3], [4, 16, 3], {}], // one output position, 1-D
  ];
  for (const [x, w, attrs] of cases) {
    for (const bias of [false, true]) {
      const g = conv(x, w, attrs, { bias });
      const r = applyPass(g, convColumns, train);
      const what = `${JSON.stringify(x)} ${JSON.stringify(attrs)} bias ${bias}`;
      assert.equal(r.changed, true, what);
      const kept = r.graph.nodes.filter((n) => n.op === "Conv");
      // The only Conv left is the one-hot kernel's, a constant.
      assert.ok(kept.every((n) => r.graph.initializers.has(n.inputs[1])), what);
      assert.equal(r.graph.nodes.filter((n) => n.op === "Gemm").length, 1, what);
      // One output position: the Gemm writes [N, M] (NCHW as it is), no Transpose back.
      const outMap = g.types.get(g.nodes[0].outputs[0])!.shape.slice(2) as number[];
      const back = [x.length - 1, 0, ...outMap.map((_, i) => i + 1)].join();
      const transposedBack = r.graph.nodes.some((n) =>
        n.op === "Transpose" && (n.attrs.perm as number[]).join() === back
      );
      assert.equal(transposedBack, numel(outMap) > 1, what);
      assert.equal(r.graph.nodes.at(-1)!.outputs[0], g.nodes[0].outputs[0]);
      assertSameOutputs(g, r.graph, randomFeeds(g), { rtol: 1e-4, atol: 1e-5 });
    }
  }
});

Deno.test("a one-tap Conv on maps of one position is a Gemm between Reshapes", () => {
  for (const bias of [false, true]) {
    const g = conv(["N", 16, 1, 1], [8, 16, 1, 1], {}, { bias });
    const r = applyPass(g, convColumns, train);
    assert.equal(r.changed, true);
    assert.deepEqual(ops(r.graph), ["Reshape", "Reshape", "Gemm", "Reshape"]);
    const feeds = randomFeeds(g, 1, { N: 3 });
    assertSameOutputs(g, r.graph, feeds, { rtol: 1e-4, atol: 1e-5 });
  }
});

Deno.test("large maps, few channels, constant weights, groups and eval mode are left alone", () => {
  const cases: [number[], number[], Record<string, AttrValue>, { constW?: boolean }][] = [
    [[2, 16, 8, 8], [4, 16, 3, 3], { pads: [1, 1, 1, 1] }, {}], // 64 positions a sample
    [[2, 8, 2, 2], [4, 8, 3, 3], { pads: [1, 1, 1, 1] }, {}], // 8 input channels
    [[2, 16, 2, 2], [4, 16, 3, 3], { pads: [1, 1, 1, 1] }, { constW: true }], // a constant weight
    [[2, 16, 2, 2], [4, 8, 3, 3], { pads: [1, 1, 1, 1], group: 2 }, {}], // grouped
    [[2, 16, 2, 2], [4, 16, 6, 6], { pads: [2, 2, 2, 2] }, {}], // 36 taps
  ];
  for (const [x, w, attrs, o] of cases) {
    const r = applyPass(conv(x, w, attrs, o), convColumns, train);
    assert.equal(r.changed, false, `${JSON.stringify(x)} ${JSON.stringify(attrs)}`);
  }
  const g = conv([2, 16, 2, 2], [4, 16, 3, 3], { pads: [1, 1, 1, 1] });
  assert.equal(applyPass(g, convColumns, { mode: "eval" }).changed, false);
});

Deno.test("a training step computes a small-map layer's columns once, for its output and its weight gradient", () => {
  const src = `model M {
  input x: f32[N, 64, 4, 4]
  output y: f32[N, 64, 4, 4] = x |> c: conv2d(64, kernel: 3, pad: 1, bias: false)
}
train M { loss = reduce_mean(y * y)  optimizer = sgd(lr: 0.1, momentum: 0.9) }`;
  const c = compileTrain("m.dlm", { read: () => src });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const step = c.step!;
  const convs = step.nodes.filter((n) => n.op === "Conv");
  // One Conv: the columns' one-hot kernel, read by the forward Gemm and the weight gradient's.
  assert.equal(convs.length, 1);
  assert.ok(step.initializers.has(convs[0].inputs[1]));
  const cols = step.nodes.find((n) => n.op === "Reshape" && n.inputs[0] === convs[0].outputs[0])!;
  const readers = step.nodes.filter((n) => n.op === "Gemm" && n.inputs.includes(cols.outputs[0]));
  assert.equal(readers.length, 2);
});

Deno.test("a training step on columns computes the same loss, parameters and momentum as with Convs", () => {
  const src = `model M {
  input x: f32[N, 16, 4, 4]
  output y: f32[N, 8, 2, 2] = x |> c: conv2d(32, kernel: 3, pad: 1) |> relu
    |> d: conv2d(8, kernel: 3, stride: 2, pad: 1)
}
train M { loss = reduce_mean(y * y)  optimizer = sgd(lr: 0.1, momentum: 0.9) }`;
  const compile = (positions: number) => {
    const saved = convGradTuning.columnsMaxPositions;
    convGradTuning.columnsMaxPositions = positions;
    try {
      // Momentum in the weights' shape in both: the columns' Gemm would write it as [32, 144].
      const c = compileTrain("m.dlm", { read: () => src, paramShapedState: true });
      assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
      return c.step!;
    } finally {
      convGradTuning.columnsMaxPositions = saved;
    }
  };
  const convs = compile(0), columns = compile(16);
  assert.ok(columns.nodes.filter((n) => n.op === "Gemm").length >= 2);
  assert.ok(!convs.nodes.some((n) => n.name.includes("/columns/")));
  const feeds = randomFeeds(convs, 3, { N: 4 });
  for (const [k, t] of Object.entries(feeds)) {
    // Nonzero momentum, so its sum is checked too.
    if (!k.startsWith("opt:momentum:")) continue;
    feeds[k] = { ...t, data: (t.data as Float32Array).map((v) => v * 0.1) };
  }
  assertSameOutputs(convs, columns, feeds, { rtol: 1e-4, atol: 1e-5 });
});
