import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import { cloneGraph, type Graph } from "../ir/graph.ts";
import { type Tensor, tensor, toNumbers } from "../ir/tensor.ts";
import { emitModel } from "../onnx/emit.ts";
import { createSession } from "../../runtime/ort/mod.ts";
import { runPasses } from "./manager.ts";
import { pipelineFor } from "./targets.ts";
import { attention } from "./fuse_attention_testing.ts";
import { assertSameOutputs, ops, randomFeeds, randomTensor, seeded } from "./testing.ts";

/** One post-norm Transformer encoder block on x [N, 3, 8], written out op by op. */
function encoderBlock(): Graph {
  const b = new GraphBuilder("encoder");
  const rand = seeded(11);
  const w = (name: string, shape: number[]) =>
    b.initializer(name, randomTensor("f32", shape, rand, -0.5, 0.5));
  const c = (name: string, v: number) => b.initializer(name, tensor("f32", [], [v]));
  const x = b.input("x", { dtype: "f32", shape: ["N", 3, 8] });
  const linear = (name: string, v: string, i: number, o: number) => {
    const [m] = b.addNode("MatMul", [v, w(`${name}.weight`, [i, o])]);
    return b.addNode("Add", [m, w(`${name}.bias`, [o])])[0];
  };
  const a = attention(b, linear("q", x, 8, 8), linear("k", x, 8, 8), linear("v", x, 8, 8));
  const [r1] = b.addNode("Add", [x, linear("out", a, 8, 8)]);
  const [h1] = b.addNode("LayerNormalization", [r1, w("norm1.weight", [8]), w("norm1.bias", [8])], {
    axis: -1,
    epsilon: 1e-5,
  });
  // dlm's gelu(): Div by sqrt 2, Erf, Add 1, Mul x, Mul 0.5.
  const f = linear("ff1", h1, 8, 16);
  const [d] = b.addNode("Div", [f, c("sqrt2", Math.SQRT2)]);
  const [e] = b.addNode("Erf", [d]);
  const [p] = b.addNode("Add", [e, c("one", 1)]);
  const [m] = b.addNode("Mul", [f, p]);
  const [g] = b.addNode("Mul", [m, c("half", 0.5)]);
  const [r2] = b.addNode("Add", [h1, linear("ff2", g, 16, 8)]);
  // A hand-written layer norm over the last axis.
  const [mu] = b.addNode("ReduceMean", [r2], { axes: [-1] });
  const [dc] = b.addNode("Sub", [r2, mu]);
  const [sq] = b.addNode("Mul", [dc, dc]);
  const [va] = b.addNode("ReduceMean", [sq], { axes: [-1] });
  const [ve] = b.addNode("Add", [va, c("eps", 1e-5)]);
  const [sd] = b.addNode("Sqrt", [ve]);
  const [y] = b.addNode("Div", [dc, sd], {}, { outputs: ["y"] });
  b.output(y);
  return b.graph;
}

function optimised(target: "onnx" | "ort"): Graph {
  const g = cloneGraph(encoderBlock());
  runPasses(g, pipelineFor(target, "eval"), { mode: "eval", verify: true });
  return g;
}

Deno.test("pipelineFor() fuses only standard ops for onnx and the contrib ops for ort", () => {
  const onnx = ops(optimised("onnx"));
  assert.ok(onnx.includes("LayerNormalization"));
  assert.ok(!optimised("onnx").nodes.some((n) => n.domain));
  const ort = ops(optimised("ort"));
  for (const op of ["MultiHeadAttention", "SkipLayerNormalization", "BiasGelu"]) {
    assert.ok(ort.includes(op), `${op} in ${ort.join(", ")}`);
  }
  assert.ok(!ort.includes("Softmax") && !ort.includes("Erf"), ort.join(", "));
});

Deno.test("a fused encoder block gives the unfused outputs on the reference interpreter", () => {
  const before = encoderBlock();
  const feeds = randomFeeds(before, 1, { N: 2 });
  assertSameOutputs(before, optimised("onnx"), feeds, { atol: 1e-5 });
  assertSameOutputs(before, optimised("ort"), feeds, { atol: 1e-5 });
});

async function runOrt(g: Graph, feeds: Record<string, Tensor>, backend: "node" | "web") {
  const s = await createSession(emitModel(g).model, { backend });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

for (const backend of ["node", "web"] as const) {
  Deno.test(`a fused encoder block gives the unfused outputs in onnxruntime-${backend}`, async () => {
    const before = encoderBlock();
    const feeds = randomFeeds(before, 2, { N: 2 });
    const want = toNumbers((await runOrt(before, feeds, backend)).y);
    for (const target of ["onnx", "ort"] as const) {
      const got = toNumbers((await runOrt(optimised(target), feeds, backend)).y);
      assert.equal(got.length, want.length);
      for (let i = 0; i < want.length; i++) {
        assert.ok(Math.abs(got[i] - want[i]) <= 1e-4, `${target}: y[${i}] ${got[i]} vs ${want[i]}`);
      }
    }
  });
}
