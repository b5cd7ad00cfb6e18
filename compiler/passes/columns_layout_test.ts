/**
 * columns_layout: a region of batch norms, ReLUs, residual adds, channel concatenations, splits
 * and shuffles and their gradients between columns convolutions runs on the twin [1, C, P] with
 * the same numbers and no Transposes inside; a region that would grow (a reader that needs NCHW,
 * a broadcast that is not per channel) and a step on large maps are left alone.
 */
import assert from "node:assert/strict";
import type { Graph } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { packedStep } from "../train/testing.ts";
import { columnsLayout, columnsLayoutTuning } from "./columns_layout.ts";
import { dce } from "./dce.ts";
import { mergeReshapes } from "./merge_reshapes.ts";
import { runPasses } from "./manager.ts";
import { applyPass, assertSameOutputs, randomFeeds, withTuning } from "./testing.ts";

const train = { mode: "train" as const };
const C = 4;
const TO_NCHW = [3, 0, 1, 2], TO_COLUMNS = [1, 2, 3, 0];

/**
 * Two maps in the columns layout ([C, H, W, N], as conv_columns' Gemms write them) transposed to
 * NCHW, a split batch norm's statistics and normalisation, a ReLU, a residual Add, a per-channel
 * scale, a ReLU mask and its Where, a per-channel sum, and the next convolution's columns
 * (Transpose back and Reshape).
 */
function block(opts: { scale?: number[]; nchwReader?: boolean } = {}): Graph {
  const b = new GraphBuilder("g");
  const ints = (name: string, xs: number[]) => b.initializer(name, tensor("i64", [xs.length], xs));
  const floats = (name: string, shape: number[], xs: number[]) =>
    b.initializer(name, tensor("f32", shape, xs));
  const ra = b.input("ra", { dtype: "f32", shape: [C, 2, 2, "N"] });
  const rb = b.input("rb", { dtype: "f32", shape: [C, 2, 2, "N"] });
  const gamma = b.input("gamma", { dtype: "f32", shape: [C] });
  const beta = b.input("beta", { dtype: "f32", shape: [C] });
  const [a] = b.addNode("Transpose", [ra], { perm: TO_NCHW });
  const [skip] = b.addNode("Transpose", [rb], { perm: TO_NCHW });
  const [m] = b.addNode("ReduceMean", [a], { axes: [0, 2, 3], keepdims: 1 });
  const [mean] = b.addNode("Reshape", [m, ints("flat", [-1])]);
  const [xc] = b.addNode("Sub", [a, m]);
  const [sq] = b.addNode("Mul", [xc, xc]);
  const [variance] = b.addNode("ReduceMean", [sq], { axes: [0, 2, 3], keepdims: 0 });
  const [y] = b.addNode("BatchNormalization", [a, gamma, beta, mean, variance], {
    epsilon: 1e-5,
  });
  const [r] = b.addNode("Relu", [y]);
  const [sum] = b.addNode("Add", [r, skip]);
  // Per channel, or (`scale` given) over the positions.
  const scale = opts.scale ?? [0.5, -1, 2, 0.25];
  const scaleShape = opts.scale ? [1, 1, 2, 2] : [1, C, 1, 1];
  const [scaled] = b.addNode("Mul", [sum, floats("scale", scaleShape, scale)]);
  const zero = floats("zero", [], [0]);
  const [mask] = b.addNode("Greater", [scaled, zero]);
  const [kept] = b.addNode("Where", [mask, scaled, zero]);
  const [perChannel] = b.addNode("ReduceSum", [kept, ints("axes", [0, 2, 3])], { keepdims: 0 });
  const [back] = b.addNode("Transpose", [kept], { perm: TO_COLUMNS });
  const [cols] = b.addNode("Reshape", [back, ints("cols_shape", [C, -1])]);
  b.output(perChannel, "per_channel");
  b.output(cols, "cols");
  b.output(mean, "mean");
  b.output(variance, "variance");
  if (opts.nchwReader) b.output(b.addNode("Shape", [r])[0], "shape");
  return b.graph;
}

const count = (g: Graph, op: string) => g.nodes.filter((n) => n.op === op).length;

Deno.test("columnsLayout() runs a block between columns convolutions on [1, C, P], with no Transpose left and the same numbers", () => {
  const g = block();
  const after = structuredClone(g);
  assert.ok(runPasses(after, [columnsLayout, mergeReshapes, dce], { ...train, verify: true }));
  assert.equal(count(after, "Transpose"), 0);
  // The batch norm reads the twin: channels on axis 1, the positions of every sample on axis 2.
  const bn = after.nodes.find((n) => n.op === "BatchNormalization")!;
  assert.deepEqual(after.types.get(bn.inputs[0])!.shape.slice(0, 2), [1, C]);
  // Its statistics reduce the twin over [0, 2] (the form fuseBatchStatistics matches).
  for (const n of after.nodes.filter((n) => n.op === "ReduceMean")) {
    assert.deepEqual(n.attrs.axes, [0, 2]);
  }
  for (const N of [1, 3]) {
    assertSameOutputs(g, after, randomFeeds(g, N + 7, { N }), { rtol: 1e-5, atol: 1e-6 });
  }
});

Deno.test("columnsLayout() keeps the elementwise part bit for bit: a ReLU, an Add, a per-channel scale and a scalar", () => {
  const b = new GraphBuilder("g");
  const ra = b.input("ra", { dtype: "f32", shape: [C, 2, 2, "N"] });
  const rb = b.input("rb", { dtype: "f32", shape: [C, 2, 2, "N"] });
  const [a] = b.addNode("Transpose", [ra], { perm: TO_NCHW });
  const [s] = b.addNode("Transpose", [rb], { perm: TO_NCHW });
  const [r] = b.addNode("Relu", [a]);
  const [sum] = b.addNode("Add", [r, s]);
  const k = b.initializer("k", tensor("f32", [C, 1, 1], [3, -2, 0.5, 7]));
  const [scaled] = b.addNode("Mul", [sum, k]);
  // One element of rank 4: read as [1, 1, 1] (rank 3, so that the twin keeps its rank).
  const [y] = b.addNode("Sub", [scaled, b.initializer("one", tensor("f32", [1, 1, 1, 1], [1]))]);
  const [back] = b.addNode("Transpose", [y], { perm: TO_COLUMNS });
  b.output(b.addNode("Reshape", [back, b.initializer("s", tensor("i64", [2], [C, -1]))])[0], "y");
  const after = structuredClone(b.graph);
  assert.ok(runPasses(after, [columnsLayout, mergeReshapes, dce], { ...train, verify: true }));
  assert.equal(count(after, "Transpose"), 0);
  assertSameOutputs(b.graph, after, randomFeeds(b.graph, 5, { N: 3 }), { rtol: 0, atol: 0 });
});

Deno.test("columnsLayout() leaves a region that a reader needing NCHW or a broadcast that is not per channel would grow, and eval graphs", () => {
  // The ReLU's Shape needs NCHW: its way back (Reshape, Transpose) costs more than the region saves.
  assert.ok(!applyPass(block({ nchwReader: true }), columnsLayout, train).changed);
  // A scale over the positions ([1, 1, 2, 2]) has no per-channel form: the sum goes back to NCHW.
  assert.ok(!applyPass(block({ scale: [1, 2, 3, 4] }), columnsLayout, train).changed);
  // A lone ReLU read in NCHW.
  const b = new GraphBuilder("g");
  const ra = b.input("ra", { dtype: "f32", shape: [C, 2, 2, "N"] });
  const [a] = b.addNode("Transpose", [ra], { perm: TO_NCHW });
  b.output(b.addNode("Relu", [a])[0], "y");
  assert.ok(!applyPass(b.graph, columnsLayout, train).changed);
  assert.ok(!applyPass(block(), columnsLayout, { mode: "eval" }).changed);
});

Deno.test("columnsLayout() concatenates, splits and gathers twins on the channel axis, entering an NCHW operand once, bit for bit", () => {
  const b = new GraphBuilder("g");
  const ints = (name: string, xs: number[]) => b.initializer(name, tensor("i64", [xs.length], xs));
  // A map in the columns layout (a convolution's Gemm) and one in NCHW (a pooling's output).
  const gemm = b.input("gemm", { dtype: "f32", shape: [C, 2, 2, "N"] });
  const [ra] = b.addNode("Reshape", [gemm, ints("r", [C, 2, 2, -1])]);
  const x0 = b.input("x0", { dtype: "f32", shape: ["N", 2, 2, 2] });
  const [a] = b.addNode("Transpose", [ra], { perm: TO_NCHW });
  // A dense block's growing features (the NCHW operand read twice), NCHW's axis counted from
  // the end.
  const [cat] = b.addNode("Concat", [x0, a], { axis: -3 });
  const [r] = b.addNode("Relu", [cat]);
  const [cat2] = b.addNode("Concat", [x0, r], { axis: 1 });
  // A channel split and shuffle (ShuffleNetV2), then the next convolutions' columns.
  const [s1, s2] = b.addNode("Split", [cat2, ints("sizes", [3, 5])], { axis: 1 }, {
    nOutputs: 2,
  });
  const [shuffled] = b.addNode("Gather", [s2, ints("order", [4, 0, 3, 1, 2])], { axis: 1 });
  const [y] = b.addNode("Mul", [shuffled, b.initializer("half", tensor("f32", [], [0.5]))]);
  for (const [k, v] of [s1, y].entries()) {
    const [back] = b.addNode("Transpose", [v], { perm: TO_COLUMNS });
    b.output(b.addNode("Reshape", [back, ints(`shape${k}`, [k === 0 ? 3 : 5, -1])])[0], `cols${k}`);
  }
  const after = structuredClone(b.graph);
  assert.ok(runPasses(after, [columnsLayout, mergeReshapes, dce], { ...train, verify: true }));
  // One Transpose left: x0's way in, shared by both Concats; the channel ops read the twins.
  assert.equal(count(after, "Transpose"), 1);
  assert.equal(after.nodes.find((n) => n.op === "Transpose")!.inputs[0], "x0");
  for (const n of after.nodes.filter((n) => ["Concat", "Split", "Gather"].includes(n.op))) {
    assert.equal(n.attrs.axis, 1);
    assert.equal(after.types.get(n.inputs[0])!.shape.length, 3);
  }
  for (const N of [1, 3]) {
    assertSameOutputs(b.graph, after, randomFeeds(b.graph, N + 2, { N }), { rtol: 0, atol: 0 });
  }
});

Deno.test("columnsLayout() leaves a Concat on another axis or of an operand it cannot enter", () => {
  const cases: [(string | number)[], number][] = [[["N", C, 2, 2], 2], [["N", "K", 2, 2], 1]];
  for (const [shape, axis] of cases) {
    const b = new GraphBuilder("g");
    const ra = b.input("ra", { dtype: "f32", shape: [C, 2, 2, "N"] });
    const x0 = b.input("x0", { dtype: "f32", shape });
    const [a] = b.addNode("Transpose", [ra], { perm: TO_NCHW });
    const [cat] = b.addNode("Concat", [x0, a], { axis });
    b.output(b.addNode("Relu", [cat])[0], "y");
    assert.ok(!applyPass(b.graph, columnsLayout, train).changed);
  }
});

const denseBlock = `block Layer()(x: f32[N, C, H, W]) {
  return x |> b1: batch_norm |> relu |> c1: conv2d(32, kernel: 1, bias: false)
    |> b2: batch_norm |> relu |> c2: conv2d(16, kernel: 3, pad: 1, bias: false)
}
model M {
  input x: f32[N, 32, 8, 8]
  let h = x |> avg_pool(2)
  for i in 0..3 {
    h = concat([h, h |> "layer\${i}": Layer()], axis: 1)
  }
  // A transition's batch norm, ReLU and 1x1 convolution read the block's features.
  output y: f32[N, 16, 4, 4] = h |> bt: batch_norm |> relu |> ct: conv2d(16, kernel: 1, bias: false)
}
train M { loss = reduce_mean(y * y)  optimizer = sgd(lr: 0.1, momentum: 0.9) }`;

Deno.test("a training step's dense block on small maps keeps its growing features in the columns layout and computes the same step", () => {
  const before = withTuning(
    columnsLayoutTuning,
    { minSaving: Infinity },
    () => packedStep(denseBlock),
  );
  const after = withTuning(columnsLayoutTuning, { minSaving: 1 }, () => packedStep(denseBlock));
  // The Concats and their gradients' Splits read twins: each layer's two convolutions lose their
  // Transposes forward and backward, for the block input's one way in and its gradient's out.
  const twinConcats = after.nodes.filter((n) =>
    n.op === "Concat" && after.types.get(n.outputs[0])!.shape.length === 3
  );
  assert.equal(twinConcats.length, 3);
  assert.ok(count(after, "Transpose") <= count(before, "Transpose") - 8);
  assert.ok(after.nodes.length < before.nodes.length);
  const feeds = randomFeeds(before, 3, { N: 4 });
  for (const [k, t] of Object.entries(feeds)) {
    if (!k.startsWith("opt:momentum:")) continue;
    feeds[k] = { ...t, data: (t.data as Float32Array).map((v) => v * 0.1) };
  }
  assertSameOutputs(before, after, feeds, { rtol: 1e-4, atol: 1e-5 });
});

const resnetBlock = (size: number) =>
  `block Res()(x: f32[N, C, H, W]) {
  let y = x |> c1: conv2d(32, kernel: 3, pad: 1, bias: false) |> b1: batch_norm |> relu
    |> c2: conv2d(32, kernel: 3, pad: 1, bias: false) |> b2: batch_norm
  return relu(y + x)
}
model M {
  input x: f32[N, 32, ${size}, ${size}]
  output y: f32[N, 32, ${size}, ${size}] = x |> r: Res() |> c3: conv2d(32, kernel: 3, pad: 1)
}
train M { loss = reduce_mean(y * y)  optimizer = sgd(lr: 0.1, momentum: 0.9) }`;

function step(src: string, minSaving: number): Graph {
  return withTuning(columnsLayoutTuning, { minSaving }, () => packedStep(src));
}

Deno.test("a training step's residual block on small maps keeps the columns layout and computes the same step", () => {
  const src = resnetBlock(4);
  const before = step(src, Infinity), after = step(src, 1);
  assert.ok(count(after, "Transpose") < count(before, "Transpose"));
  assert.ok(after.nodes.length < before.nodes.length);
  assert.ok(after.nodes.some((n) => n.name.includes("/columns_layout/")));
  // Every batch norm is still one train-mode node (fuseBatchStatistics found its statistics).
  const bns = (g: Graph) => g.nodes.filter((n) => n.op === "BatchNormalization");
  assert.equal(
    bns(after).filter((n) => n.attrs.training_mode === 1).length,
    bns(before).filter((n) => n.attrs.training_mode === 1).length,
  );
  const feeds = randomFeeds(before, 3, { N: 4 });
  for (const [k, t] of Object.entries(feeds)) {
    if (!k.startsWith("opt:momentum:")) continue;
    feeds[k] = { ...t, data: (t.data as Float32Array).map((v) => v * 0.1) };
  }
  assertSameOutputs(before, after, feeds, { rtol: 1e-4, atol: 1e-5 });
});

Deno.test("a training step on maps too large for columns is left in NCHW", () => {
  const g = step(resnetBlock(8), 1);
  assert.ok(!g.nodes.some((n) => n.name.includes("/columns_layout/")));
});
