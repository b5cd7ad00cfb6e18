/**
 * Each contrib kernel against onnxruntime-node: a one-node model per case,
 * random inputs, every output within 1e-5 (absolute, plus 1e-5 relative).
 */
import assert from "node:assert/strict";
import { GraphBuilder } from "../../../../compiler/ops/builder.ts";
import type { AttrValue } from "../../../../compiler/ir/graph.ts";
import { type Tensor, tensor, toNumbers } from "../../../../compiler/ir/tensor.ts";
import { emitModel } from "../../../../compiler/onnx/emit.ts";
import { randomTensor, seeded } from "../../../../compiler/passes/testing.ts";
import { createSession } from "../../../ort/mod.ts";
import { runGraph } from "../../mod.ts";

const MS = "com.microsoft";

interface Case {
  what: string;
  op: string;
  /** Input shapes ("" = omitted), f32 random unless a tensor is given. */
  inputs: (number[] | Tensor | "")[];
  attrs?: Record<string, AttrValue>;
  outputs?: number;
}

async function check(c: Case, seed: number): Promise<void> {
  const rand = seeded(seed);
  const b = new GraphBuilder(c.op);
  const feeds: Record<string, Tensor> = {};
  const names = c.inputs.map((s, i) => {
    if (s === "") return "";
    const t = Array.isArray(s) ? randomTensor("f32", s, rand, -2, 2) : s;
    const name = b.input(`in${i}`, { dtype: t.dtype, shape: [...t.shape] });
    feeds[name] = t;
    return name;
  });
  const outs = b.addNode(c.op, names, c.attrs ?? {}, { domain: MS, nOutputs: c.outputs ?? 1 });
  for (const o of outs) b.output(o);
  const want = runGraph(b.graph, feeds).outputs;
  const s = await createSession(emitModel(b.graph).model);
  try {
    const got = await s.run(feeds);
    for (const o of outs) {
      assert.deepEqual(got[o].shape, want[o].shape, `${c.what}: shape of ${o}`);
      const x = toNumbers(got[o]), y = toNumbers(want[o]);
      for (let i = 0; i < y.length; i++) {
        assert.ok(
          Math.abs(x[i] - y[i]) <= 1e-5 + 1e-5 * Math.abs(y[i]),
          `${c.what}: ${o}[${i}] is ${y[i]} in the reference, ${x[i]} in onnxruntime`,
        );
      }
    }
  } finally {
    await s.release();
  }
}

const CASES: Case[] = [
  { what: "Gelu", op: "Gelu", inputs: [[2, 3, 8]] },
  { what: "FastGelu without bias", op: "FastGelu", inputs: [[2, 3, 8]] },
  { what: "FastGelu with bias", op: "FastGelu", inputs: [[2, 3, 8], [8]] },
  { what: "BiasGelu", op: "BiasGelu", inputs: [[2, 3, 8], [8]] },
  {
    what: "SkipLayerNormalization with all inputs and outputs",
    op: "SkipLayerNormalization",
    inputs: [[2, 3, 8], [2, 3, 8], [8], [8], [8]],
    attrs: { epsilon: 1e-5 },
    outputs: 4,
  },
  {
    what: "SkipLayerNormalization with a [S, H] skip, no beta or bias",
    op: "SkipLayerNormalization",
    inputs: [[2, 3, 8], [3, 8], [8]],
    attrs: { epsilon: 1e-5 },
  },
  {
    what: "MultiHeadAttention, self-attention",
    op: "MultiHeadAttention",
    inputs: [[2, 3, 8], [2, 3, 8], [2, 3, 8]],
    attrs: { num_heads: 2 },
  },
  {
    what: "MultiHeadAttention, cross-attention with bias and a custom scale",
    op: "MultiHeadAttention",
    inputs: [[2, 3, 8], [2, 5, 8], [2, 5, 4], [20]],
    attrs: { num_heads: 2, scale: 0.3 },
  },
  {
    what: "MultiHeadAttention with a key padding mask and an attention bias",
    op: "MultiHeadAttention",
    inputs: [
      [2, 3, 8],
      [2, 4, 8],
      [2, 4, 8],
      "",
      tensor("i32", [2, 4], [1, 1, 0, 1, 1, 1, 1, 0]),
      [1, 2, 3, 4],
    ],
    attrs: { num_heads: 2 },
  },
];

for (const [i, c] of CASES.entries()) {
  Deno.test(`the reference ${c.what} agrees with onnxruntime-node`, async () => {
    await check(c, i + 1);
  });
}
