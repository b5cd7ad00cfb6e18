import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import type { Graph, Span, TensorType } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { compileFile } from "../compile.ts";
import { dce } from "./dce.ts";
import { runPasses } from "./manager.ts";
import { fuseAttention } from "./fuse_attention.ts";
import { type Applied, applyPass, assertSameOutputs, ops, randomFeeds } from "./testing.ts";
import { attention, type AttentionOpts } from "./fuse_attention_testing.ts";

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: "f32", shape });
const span = (line: number): Span => ({ file: "m.dlm", line, col: 1, endLine: line, endCol: 5 });

function selfAttention(o: AttentionOpts = {}): GraphBuilder {
  const b = new GraphBuilder("attention");
  const x = b.input("x", f32("N", 3, 8));
  const kv = b.input("kv", f32("N", 5, 8));
  const mask = o.mask === "2d"
    ? b.input("mask", f32(3, 5))
    : o.mask === "4d"
    ? b.input("mask", f32(1, 2, 3, 5))
    : undefined;
  const [q] = b.addNode("Tanh", [x]);
  const y = attention(b, q, kv, kv, o, mask);
  b.output(b.addNode("Relu", [y], {}, { outputs: ["y"] })[0]);
  return b;
}

Deno.test("fuseAttention() turns the scaled dot-product attention pattern into MultiHeadAttention", () => {
  const b = selfAttention();
  const { graph, changed, run } = applyPass(b.graph, fuseAttention);
  assert.ok(changed);
  assert.equal(run.fired, 1);
  assert.deepEqual(ops(graph), ["Tanh", "MultiHeadAttention", "Relu"]);
  const n = graph.nodes[1];
  assert.equal(n.domain, "com.microsoft");
  assert.equal(n.name, "attn");
  assert.deepEqual(n.inputs, ["tanh", "kv", "kv"]);
  assert.deepEqual(n.attrs, { num_heads: 2, scale: 0.5 });
  assert.deepEqual(n.spans, [span(1), span(3)]);
  assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 1, { N: 2 }));
});

Deno.test("fuseAttention() takes a Mul scale, a swapped key and a mask as attention_bias", () => {
  for (
    const o of [{ scale: "mul", mask: "4d" }, { keySwap: true, mask: "2d" }] as AttentionOpts[]
  ) {
    const b = selfAttention(o);
    const { graph } = applyPass(b.graph, fuseAttention);
    const want = o.mask === "2d"
      ? ["Tanh", "Unsqueeze", "MultiHeadAttention", "Relu"]
      : ["Tanh", "MultiHeadAttention", "Relu"];
    assert.deepEqual(ops(graph), want, JSON.stringify(o));
    const mha = graph.nodes.find((n) => n.op === "MultiHeadAttention")!;
    assert.equal(mha.inputs.length, 6);
    assertSameOutputs(b.graph, graph, randomFeeds(b.graph, 2, { N: 2 }));
  }
});

Deno.test("fuseAttention() does not fire when the weights are used elsewhere or softmax takes another axis", () => {
  for (const o of [{ leakWeights: true }, { softmaxAxis: 2 }] as AttentionOpts[]) {
    assert.equal(applyPass(selfAttention(o).graph, fuseAttention).changed, false);
  }
});

// --- The node sequences dlm itself emits (scaled_dot_product_attention, the .dlm blocks). ---

const HEADS = `
block Split(x: f32[N, L, C]) { return x |> view((N, L, 2, -1)) |> permute((0, 2, 1, 3)) }
block Merge(x: f32[N, H, L, C]) { return x |> permute((0, 2, 1, 3)) |> view((N, L, H * C)) }
`;

/** The graph of a one-model .dlm source (with the head split/merge blocks above). */
function compileDlm(body: string): Graph {
  const src = HEADS + body;
  const r = compileFile("m.dlm", {
    read: (p) => (p === "m.dlm" ? src : new Error("no such file")),
  });
  assert.deepEqual(r.diagnostics.map((d) => d.message), []);
  return r.graph!;
}

/** fuse_attention then dead-code elimination, as in the ort pipeline. */
function fuseAndClean(g: Graph): Applied {
  const a = applyPass(g, fuseAttention);
  runPasses(a.graph, [dce], { mode: "eval", verify: true });
  return a;
}

const LOWEST = -3.4028234663852886e38;

Deno.test("fuseAttention() turns causal scaled_dot_product_attention over a symbolic length into unidirectional MultiHeadAttention", () => {
  const g = compileDlm(`model M {
    input x: f32[N, T, 8]
    let q = x |> Split
    let k = x |> tanh |> Split
    let v = x |> sigmoid |> Split
    output y: f32[N, T, 8] = scaled_dot_product_attention(q, k, v, causal: true) |> Merge
  }`);
  const { graph, run } = fuseAndClean(g);
  assert.equal(run.fired, 1);
  assert.deepEqual(ops(graph), ["Tanh", "Sigmoid", "MultiHeadAttention"]);
  const mha = graph.nodes[2];
  assert.deepEqual(mha.inputs, ["x", "tanh", "sigmoid"]);
  assert.deepEqual(mha.attrs, {
    num_heads: 2,
    scale: Math.fround(1 / 2),
    unidirectional: 1,
    mask_filter_value: LOWEST,
  });
  assert.ok((mha.spans ?? []).length >= 3, "the spans of the view, the attention and the merge");
  assertSameOutputs(g, graph, randomFeeds(g, 3, { N: 2, T: 5 }));
});

Deno.test("fuseAttention() takes a causal_mask() passed as a mask as causal too", () => {
  const g = compileDlm(`model M {
    input x: f32[N, T, 8]
    let h = x |> Split
    output y: f32[N, T, 8] = scaled_dot_product_attention(h, h, h, mask: causal_mask(T, like: x))
      |> Merge
  }`);
  const { graph } = fuseAndClean(g);
  assert.deepEqual(ops(graph), ["MultiHeadAttention"]);
  assert.equal(graph.nodes[0].attrs.unidirectional, 1);
  assertSameOutputs(g, graph, randomFeeds(g, 4, { N: 2, T: 4 }));
});

Deno.test("fuseAttention() expands a [N, 1, 1, S] padding bias (BERT's) to the attention_bias onnxruntime takes", () => {
  const g = compileDlm(`model M {
    input x: f32[N, T, 8]
    input mem: f32[N, S, 8]
    input bias: f32[N, 1, 1, S]
    output y: f32[N, T, 8] = scaled_dot_product_attention(x |> Split, mem |> Split, mem |> Split,
      mask: bias) |> Merge
  }`);
  const { graph } = fuseAndClean(g);
  assert.deepEqual(ops(graph), ["Shape", "Concat", "Expand", "MultiHeadAttention"]);
  const mha = graph.nodes[3];
  assert.equal(mha.inputs[5], graph.nodes[2].outputs[0]);
  assert.deepEqual(graph.types.get(mha.inputs[5])!.shape, ["N", 1, "T", "S"]);
  assert.equal(mha.attrs.unidirectional, undefined);
  assertSameOutputs(g, graph, randomFeeds(g, 5, { N: 2, T: 3, S: 4 }));
});

Deno.test("fuseAttention() turns a bool mask into an additive attention_bias", () => {
  const g = compileDlm(`model M {
    input x: f32[N, T, 8]
    input mem: f32[N, S, 8]
    input keep: bool[T, S]
    output y: f32[N, T, 8] = scaled_dot_product_attention(x |> Split, mem |> Split, mem |> Split,
      mask: keep) |> Merge
  }`);
  const { graph } = fuseAndClean(g);
  assert.deepEqual(ops(graph), ["Where", "Unsqueeze", "MultiHeadAttention"]);
  const feeds = randomFeeds(g, 6, { N: 2, T: 3, S: 4 });
  // Every query keeps key 0, so no row is fully masked.
  feeds.keep = tensor("bool", [3, 4], [1, 0, 1, 1, 1, 1, 0, 0, 1, 0, 0, 1]);
  assertSameOutputs(g, graph, feeds);
});

Deno.test("fuseAttention() shares one attention_bias between the layers that read the same mask", () => {
  const g = compileDlm(`model M {
    input x: f32[N, T, 8]
    input bias: f32[N, 1, 1, T]
    let a = scaled_dot_product_attention(x |> Split, x |> Split, x |> Split, mask: bias) |> Merge
    output y: f32[N, T, 8] = scaled_dot_product_attention(a |> Split, a |> Split, a |> Split,
      mask: bias) |> Merge
  }`);
  const { graph, run } = fuseAndClean(g);
  assert.equal(run.fired, 2);
  assert.deepEqual(ops(graph), [
    "Shape",
    "Concat",
    "Expand",
    "MultiHeadAttention",
    "MultiHeadAttention",
  ]);
  assertSameOutputs(g, graph, randomFeeds(g, 7, { N: 2, T: 3 }));
});

/**
 * Scores [N, 2, 3, 3] masked by Where(c, s, fill), c = LessOrEqual(u0, u1) of
 * two Unsqueezed ranges 0..2, then softmax and the merge.
 */
function whereMasked(fill: number, swap: boolean): Graph {
  const b = new GraphBuilder("masked");
  const x = b.input("x", f32("N", 3, 8));
  const r = b.initializer("r", tensor("i64", [3], [0, 1, 2]));
  const [row] = b.addNode("Unsqueeze", [r, b.initializer("a0", tensor("i64", [1], [0]))]);
  const [col] = b.addNode("Unsqueeze", [r, b.initializer("a1", tensor("i64", [1], [1]))]);
  const [c] = b.addNode("LessOrEqual", swap ? [col, row] : [row, col]);
  const shape4 = b.initializer("heads_shape", tensor("i64", [4], [0, 3, 2, 4]));
  const split = (perm: number[]) =>
    b.addNode("Transpose", [b.addNode("Reshape", [x, shape4])[0]], { perm })[0];
  const [s] = b.addNode("MatMul", [split([0, 2, 1, 3]), split([0, 2, 3, 1])]);
  const low = b.initializer("low", tensor("f32", [], [fill]));
  const [w] = b.addNode("Where", [c, s, low]);
  const [a] = b.addNode("Softmax", [w], { axis: -1 });
  const [o] = b.addNode("MatMul", [a, split([0, 2, 1, 3])]);
  const [t] = b.addNode("Transpose", [o], { perm: [0, 2, 1, 3] });
  const merge = b.initializer("merge_shape", tensor("i64", [3], [0, 3, 8]));
  b.output(b.addNode("Reshape", [t, merge], {}, { outputs: ["y"] })[0]);
  return b.graph;
}

Deno.test("fuseAttention() reads a constant-range LessOrEqual as causal, and the reverse as a plain mask", () => {
  const causal = fuseAndClean(whereMasked(LOWEST, false)).graph;
  assert.deepEqual(ops(causal), ["MultiHeadAttention"]);
  assert.equal(causal.nodes[0].attrs.unidirectional, 1);
  const anti = fuseAndClean(whereMasked(LOWEST, true)).graph;
  assert.deepEqual(ops(anti), [
    "Unsqueeze",
    "Unsqueeze",
    "LessOrEqual",
    "Where",
    "Unsqueeze",
    "MultiHeadAttention",
  ]);
  assert.equal(anti.nodes[5].attrs.unidirectional, undefined);
  for (const g of [causal, anti]) {
    const before = whereMasked(LOWEST, g === anti);
    assertSameOutputs(before, g, randomFeeds(before, 8, { N: 2 }));
  }
});

Deno.test("fuseAttention() does not fire on a Where whose fill is not a large negative constant", () => {
  assert.equal(applyPass(whereMasked(-100, false), fuseAttention).changed, false);
});
