/**
 * fuse_attention on the Transformer examples, end to end: compiled for
 * `--target ort`, every attention layer becomes one MultiHeadAttention, and
 * onnxruntime-node on the fused graph agrees with the reference interpreter
 * on the unfused graph within rtol 1e-4 / atol 1e-5 (the `dlm diff`
 * tolerance).
 */
import assert from "node:assert/strict";
import { compileFile } from "../compile.ts";
import { cloneGraph } from "../ir/graph.ts";
import { tensor, toNumbers } from "../ir/tensor.ts";
import { emitModel } from "../onnx/emit.ts";
import { createSession } from "../../runtime/ort/mod.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { prepareInputs } from "../../runtime/inputs.ts";
import { runPasses } from "./manager.ts";
import { pipelineFor } from "./targets.ts";

const dir = new URL("../../lang-examples/", import.meta.url).pathname;

interface Case {
  file: string;
  model: string;
  dims: Record<string, number>;
  /** Attention layers in the model: self and cross attention each count. */
  attention: number;
  /** Whether a causal mask must become unidirectional. */
  causal?: boolean;
}

const CASES: Case[] = [
  { file: "gpt2.dlm", model: "GPT2Tiny", dims: { N: 2, T: 6 }, attention: 2, causal: true },
  { file: "bert.dlm", model: "BertSmall", dims: { N: 2, T: 6 }, attention: 2 },
  { file: "vit.dlm", model: "ViTTiny", dims: { N: 2 }, attention: 2 },
  // 2 encoder layers (self), 2 decoder layers (causal self + cross).
  {
    file: "transformer.dlm",
    model: "TransformerTiny",
    dims: { N: 2, S: 7, T: 5 },
    attention: 6,
    causal: true,
  },
];

for (const c of CASES) {
  Deno.test(`${c.model} compiled for ort fuses all ${c.attention} attention layers and onnxruntime agrees with the unfused reference`, async () => {
    const r = compileFile(dir + c.file, { model: c.model });
    assert.deepEqual(r.diagnostics.map((d) => d.message), []);
    const unfused = r.graph!;
    const fused = cloneGraph(unfused);
    runPasses(fused, pipelineFor("ort", "eval"), { mode: "eval", verify: true });
    const mha = fused.nodes.filter((n) => n.op === "MultiHeadAttention");
    assert.equal(mha.length, c.attention);
    assert.ok(!fused.nodes.some((n) => n.op === "Softmax"), "no Softmax is left");
    assert.equal(mha.filter((n) => n.attrs.unidirectional === 1).length > 0, !!c.causal);
    const feeds = prepareInputs(unfused, { seed: 1, dims: c.dims });
    if (feeds.attention_mask) {
      // The second sequence is padded after 3 tokens.
      feeds.attention_mask = tensor("i64", [2, 6], [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
    }
    const want = runGraph(unfused, feeds).outputs;
    const s = await createSession(emitModel(fused).model, { backend: "node" });
    try {
      const got = await s.run(feeds);
      for (const [name, w] of Object.entries(want)) {
        assert.deepEqual(got[name].shape, w.shape, `shape of ${name}`);
        const x = toNumbers(got[name]), y = toNumbers(w);
        for (let i = 0; i < y.length; i++) {
          assert.ok(
            Math.abs(x[i] - y[i]) <= 1e-5 + 1e-4 * Math.abs(y[i]),
            `${name}[${i}] is ${y[i]} in the reference, ${x[i]} in onnxruntime`,
          );
        }
      }
    } finally {
      await s.release();
    }
  });
}
