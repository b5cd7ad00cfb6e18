/**
 * PyTorch as an oracle for attention. The fixtures were made once by
 * `fixtures/torch/make_attention_fixtures.py` (Debian's torch 1.13); each
 * case is a small `.dlm` model in `fixtures/torch/` built from
 * lang-examples/lib/transformer.dlm's blocks, whose default parameter names
 * are nn.MultiheadAttention's and nn.TransformerEncoderLayer's, so torch's
 * seeded weights load with no weights map. The graph must reproduce torch's
 * output within rtol 1e-4 / atol 1e-5 in the reference interpreter (as
 * declared) and in onnxruntime-node compiled for both targets: "onnx"
 * (standard operators) and "ort" (where the attention becomes one
 * com.microsoft MultiHeadAttention, causal masks unidirectional, padding
 * masks an attention_bias).
 */
import assert from "node:assert/strict";
import { cloneGraph } from "../compiler/ir/graph.ts";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { runPasses } from "../compiler/passes/mod.ts";
import { pipelineFor, type Target } from "../compiler/passes/targets.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { loadWeights } from "../runtime/weights.ts";
import { assertClose, compile, FIXTURES, pathOf, readFixtureNpy } from "./torch_fixtures.ts";

interface Case {
  /** Fixture prefix: `<name>.dlm`, `<name>.safetensors`, `<name>_<value>.npy`. */
  name: string;
  what: string;
  /** Whether the fused attention must be unidirectional, and whether it takes an attention_bias. */
  causal?: boolean;
  bias?: boolean;
}

const CASES: Case[] = [
  { name: "mha_self", what: "nn.MultiheadAttention self-attention" },
  { name: "mha_causal", what: "nn.MultiheadAttention with a causal attn_mask", causal: true },
  {
    name: "mha_padding",
    what: "nn.MultiheadAttention cross-attention with a key_padding_mask",
    bias: true,
  },
  { name: "encoder_post", what: "nn.TransformerEncoderLayer (post-norm, gelu)" },
  { name: "encoder_prenorm", what: "nn.TransformerEncoderLayer (norm_first, gelu)" },
];

for (const c of CASES) {
  Deno.test(`${c.what} with torch's weights matches torch in the interpreter and onnxruntime`, async (t) => {
    const graph = compile(new URL(`${c.name}.dlm`, FIXTURES));
    const { loaded, warnings } = loadWeights(
      graph,
      pathOf(new URL(`${c.name}.safetensors`, FIXTURES)),
    );
    assert.deepEqual(warnings.map((w) => w.message), [], "every tensor matches a parameter");
    assert.equal(loaded, graph.params.length);

    const feeds: Record<string, Tensor> = {};
    for (const i of graph.inputs) feeds[i.name] = readFixtureNpy(`${c.name}_${i.name}.npy`);
    const expected = readFixtureNpy(`${c.name}_y.npy`);

    await t.step("the reference interpreter on the graph as declared", () => {
      assertClose(runGraph(graph, feeds).outputs.y, expected, "reference, no passes");
    });

    for (const target of ["onnx", "ort"] as Target[]) {
      await t.step(`onnxruntime-node on the model compiled for ${target}`, async () => {
        const g = cloneGraph(graph);
        runPasses(g, pipelineFor(target, "eval"), { mode: "eval", verify: true });
        const mha = g.nodes.filter((n) => n.op === "MultiHeadAttention");
        assert.equal(mha.length, target === "ort" ? 1 : 0, "MultiHeadAttention nodes");
        if (target === "ort") {
          assert.equal(mha[0].attrs.unidirectional === 1, !!c.causal, "unidirectional");
          assert.equal(!!mha[0].inputs[5], !!c.bias, "attention_bias");
          assertClose(runGraph(g, feeds).outputs.y, expected, "reference, fused");
        }
        const session = await createSession(emitModel(g).model);
        try {
          assertClose((await session.run(feeds)).y, expected, `onnxruntime-node, ${target}`);
        } finally {
          await session.release();
        }
      });
    }
  });
}
