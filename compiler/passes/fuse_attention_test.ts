import assert from "node:assert/strict";
import "../ops/mod.ts";
import { GraphBuilder } from "../ir/builder.ts";
import type { Span, TensorType } from "../ir/graph.ts";
import { fuseAttention } from "./fuse_attention.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds } from "./testing.ts";
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
