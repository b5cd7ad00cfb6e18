import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import type { AttrValue, Graph, Span, TensorType } from "../ir/graph.ts";
import { foldBatchNorm } from "./fold_batch_norm.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds, randomTensor, seeded } from "./testing.ts";

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: "f32", shape });
const span = (line: number): Span => ({ file: "m.dlm", line, col: 3, endLine: line, endCol: 9 });

/** Add a batch norm over `c` channels named `<name>.*`, with parameters registered as params. */
function batchNorm(b: GraphBuilder, x: string, c: number, name: string, seed = 11): string {
  const rand = seeded(seed);
  const p = (suffix: string, role: string, lo: number, hi: number, trainable: boolean) => {
    const n = b.initializer(`${name}.${suffix}`, randomTensor("f32", [c], rand, lo, hi));
    b.graph.params.push({ name: n, role, trainable, layer: "batch_norm" });
    return n;
  };
  const inputs = [
    x,
    p("weight", "weight", 0.5, 1.5, true),
    p("bias", "bias", -1, 1, true),
    p("running_mean", "running_mean", -1, 1, false),
    p("running_var", "running_var", 0.25, 2, false),
  ];
  const [y] = b.addNode("BatchNormalization", inputs, { epsilon: 1e-3 }, {
    name,
    spans: [span(5)],
  });
  return y;
}

function weight(b: GraphBuilder, name: string, shape: number[], seed = 5): string {
  const n = b.initializer(name, randomTensor("f32", shape, seeded(seed)));
  b.graph.params.push({
    name: n,
    role: name.endsWith("bias") ? "bias" : "weight",
    trainable: true,
  });
  return n;
}

/** x -> conv1 (3x3, no bias) -> bn1 -> Relu -> y */
function convBn(opts: { bias?: boolean; extraReader?: boolean } = {}): Graph {
  const b = new GraphBuilder("conv_bn");
  const x = b.input("x", f32(2, 2, 5, 5));
  const inputs = [x, weight(b, "conv1.weight", [3, 2, 3, 3])];
  if (opts.bias) inputs.push(weight(b, "conv1.bias", [3], 6));
  const attrs: Record<string, AttrValue> = { pads: [1, 1, 1, 1] };
  const [c] = b.addNode("Conv", inputs, attrs, { name: "conv1", spans: [span(4)] });
  const y0 = batchNorm(b, c, 3, "bn1");
  const [y] = b.addNode("Relu", [y0], {}, { outputs: ["y"] });
  b.output(y);
  if (opts.extraReader) {
    const [z] = b.addNode("Relu", [c], {}, { outputs: ["z"] });
    b.output(z);
  }
  return b.graph;
}

Deno.test("foldBatchNorm() folds a batch norm into a conv without bias and names the new bias", () => {
  const g = convBn();
  const { graph, changed, run } = applyPass(g, foldBatchNorm);
  assert.ok(changed);
  assert.equal(run.fired, 1);
  assert.deepEqual(ops(graph), ["Conv", "Relu"]);
  const conv = graph.nodes[0];
  assert.equal(conv.name, "conv1");
  assert.deepEqual(conv.inputs, ["x", "conv1.weight", "conv1.bias"]);
  assert.deepEqual(conv.outputs, g.nodes[1].outputs, "the conv takes the batch norm's output");
  assert.deepEqual(conv.spans, [span(4), span(5)]);
  assert.deepEqual([...graph.initializers.keys()].sort(), ["conv1.bias", "conv1.weight"]);
  assert.deepEqual(graph.params.map((p) => [p.name, p.role]), [
    ["conv1.weight", "weight"],
    ["conv1.bias", "bias"],
  ]);
  assert.deepEqual(run.rewrites[0].ops, ["Conv", "BatchNormalization"]);
  assertSameOutputs(g, graph, randomFeeds(g));
});

Deno.test("foldBatchNorm() overwrites a conv's own bias in place", () => {
  const g = convBn({ bias: true });
  const { graph } = applyPass(g, foldBatchNorm);
  assert.deepEqual(graph.nodes[0].inputs, ["x", "conv1.weight", "conv1.bias"]);
  assert.notDeepEqual(graph.initializers.get("conv1.bias"), g.initializers.get("conv1.bias"));
  assertSameOutputs(g, graph, randomFeeds(g, 2));
});

Deno.test("foldBatchNorm() keeps the batch norm's name when its output is a graph output", () => {
  const b = new GraphBuilder("out");
  const x = b.input("x", f32(1, 2, 4, 4));
  const [c] = b.addNode("Conv", [x, weight(b, "w", [4, 2, 1, 1])], {}, { name: "conv" });
  b.output(batchNorm(b, c, 4, "bn"), "y");
  const { graph } = applyPass(b.graph, foldBatchNorm);
  assert.deepEqual(ops(graph), ["Conv"]);
  assert.deepEqual(graph.nodes[0].outputs, ["y"]);
  assert.deepEqual(graph.nodes[0].inputs, ["x", "w", "w.bias"]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph));
});

Deno.test("foldBatchNorm() folds into a grouped ConvTranspose", () => {
  const b = new GraphBuilder("deconv");
  const x = b.input("x", f32(1, 4, 3, 3));
  const w = weight(b, "up.weight", [4, 3, 2, 2]); // C_in 4, 2 groups of 3 -> 6 channels
  const [c] = b.addNode("ConvTranspose", [x, w, weight(b, "up.bias", [6], 8)], {
    group: 2,
    strides: [2, 2],
  });
  b.output(batchNorm(b, c, 6, "bn"), "y");
  const { graph } = applyPass(b.graph, foldBatchNorm);
  assert.deepEqual(ops(graph), ["ConvTranspose"]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 4));
});

Deno.test("foldBatchNorm() folds into Gemm with alpha, beta and transB", () => {
  for (const [transB, cShape] of [[1, [3]], [0, []], [1, undefined]] as const) {
    const b = new GraphBuilder("gemm");
    const x = b.input("x", f32(2, 4));
    const inputs = [x, weight(b, "fc.weight", transB ? [3, 4] : [4, 3])];
    if (cShape) inputs.push(b.initializer("fc.bias", randomTensor("f32", [...cShape], seeded(3))));
    const [m] = b.addNode("Gemm", inputs, { alpha: 2, beta: 0.5, transB });
    b.output(batchNorm(b, m, 3, "bn"), "y");
    const { graph } = applyPass(b.graph, foldBatchNorm);
    assert.deepEqual(ops(graph), ["Gemm"], `transB ${transB}, C ${cShape}`);
    assert.equal(graph.nodes[0].attrs.beta, undefined);
    assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 9));
  }
});

Deno.test("foldBatchNorm() folds into MatMul followed by a bias Add", () => {
  const b = new GraphBuilder("mm_add");
  const x = b.input("x", f32(3, 4));
  const [m] = b.addNode("MatMul", [x, weight(b, "fc.weight", [4, 5])], {}, { spans: [span(2)] });
  const [a] = b.addNode("Add", [weight(b, "fc.bias", [1, 5], 4), m], {}, { spans: [span(3)] });
  b.output(batchNorm(b, a, 5, "bn"), "y");
  const { graph, run } = applyPass(b.graph, foldBatchNorm);
  assert.deepEqual(ops(graph), ["MatMul", "Add"]);
  assert.deepEqual(graph.nodes[1].outputs, ["y"]);
  assert.deepEqual(graph.nodes[1].inputs[0], "fc.bias");
  assert.deepEqual(run.rewrites[0].ops, ["Add", "MatMul", "BatchNormalization"]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 5));
});

Deno.test("foldBatchNorm() turns a batch norm after a bare MatMul into a bias Add", () => {
  const b = new GraphBuilder("mm");
  const x = b.input("x", f32(3, 4));
  const [m] = b.addNode("MatMul", [x, weight(b, "fc.weight", [4, 5])]);
  b.output(batchNorm(b, m, 5, "bn"), "y");
  const { graph } = applyPass(b.graph, foldBatchNorm);
  assert.deepEqual(ops(graph), ["MatMul", "Add"]);
  assert.equal(graph.nodes[1].name, "bn");
  assert.deepEqual(graph.nodes[1].inputs, [m, "fc.bias"]);
  assert.deepEqual([...graph.initializers.keys()].sort(), ["fc.bias", "fc.weight"]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 6));
});

Deno.test("foldBatchNorm() copies a weight shared with another conv", () => {
  const b = new GraphBuilder("shared");
  const x = b.input("x", f32(1, 2, 4, 4));
  const w = weight(b, "w", [2, 2, 1, 1]);
  const [c1] = b.addNode("Conv", [x, w], {}, { name: "c1" });
  const [c2] = b.addNode("Conv", [x, w], {}, { name: "c2" });
  const bn = batchNorm(b, c1, 2, "bn");
  const [y] = b.addNode("Add", [bn, c2], {}, { outputs: ["y"] });
  b.output(y);
  const { graph } = applyPass(b.graph, foldBatchNorm);
  assert.deepEqual(ops(graph), ["Conv", "Conv", "Add"]);
  assert.deepEqual(graph.nodes[0].inputs, ["x", "w.folded", "w.bias"]);
  assert.deepEqual(graph.nodes[1].inputs, ["x", "w"]);
  assert.deepEqual(graph.initializers.get("w"), b.graph.initializers.get("w"));
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 10));
});

Deno.test("foldBatchNorm() does not fire when the conv output has another reader", () => {
  const { changed, graph } = applyPass(convBn({ extraReader: true }), foldBatchNorm);
  assert.equal(changed, false);
  assert.deepEqual(ops(graph), ["Conv", "BatchNormalization", "Relu", "Relu"]);
});

Deno.test("foldBatchNorm() does not fire in train mode", () => {
  const { changed } = applyPass(convBn(), foldBatchNorm, { mode: "train" });
  assert.equal(changed, false);
});

Deno.test("foldBatchNorm() does not fire when the batch norm's parameters are not constants", () => {
  const g = convBn();
  const bn = g.nodes[1];
  // The scale becomes a graph input (e.g. fed at run time).
  g.inputs.push({ name: bn.inputs[1], type: f32(3) });
  g.initializers.delete(bn.inputs[1]);
  assert.equal(applyPass(g, foldBatchNorm).changed, false);
});

Deno.test("foldBatchNorm() does not fire after a MatMul on a rank-3 input", () => {
  const b = new GraphBuilder("mm3");
  const x = b.input("x", f32(2, 3, 4));
  const [m] = b.addNode("MatMul", [x, weight(b, "w", [4, 3])]);
  b.output(batchNorm(b, m, 3, "bn"), "y");
  assert.equal(applyPass(b.graph, foldBatchNorm).changed, false);
});
