/**
 * PyTorch as an oracle for the recurrent layers. The fixtures were made
 * once by `fixtures/torch/make_recurrent_fixtures.py` (Debian's torch 1.13);
 * each case is a small `.dlm` model in `fixtures/torch/` whose parameters
 * carry nn.RNN/nn.LSTM/nn.GRU's state_dict() names, so torch's seeded
 * weights load with no weights map. The compiled graph must reproduce
 * torch's output, h_n (and c_n) within rtol 1e-4 / atol 1e-5 in the
 * reference interpreter (before and after the inference passes) and in
 * onnxruntime-node (the emitted model).
 *
 * `bilstm_packed` checks that `lengths:` (ONNX sequence_lens) means what
 * PyTorch's pack_padded_sequence means: outputs are zero past each length,
 * the forward h_n is the state at the last valid step, and the backward
 * direction starts at each sequence's own last step.
 */
import assert from "node:assert/strict";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { inferencePipeline, runPasses } from "../compiler/passes/mod.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { loadWeights } from "../runtime/weights.ts";
import { assertClose, compile, FIXTURES, pathOf, readFixtureNpy } from "./torch_fixtures.ts";

interface Case {
  /** Fixture prefix: `<name>.dlm`, `<name>.safetensors`, `<name>_<value>.npy`. */
  name: string;
  what: string;
  /** The recurrent op each layer lowers to, and how many layers. */
  op: string;
  nodes: number;
}

const CASES: Case[] = [
  { name: "rnn_tanh2", what: "a 2-layer tanh rnn()", op: "RNN", nodes: 2 },
  {
    name: "birnn_relu",
    what: "a bidirectional relu rnn() over time-major input",
    op: "RNN",
    nodes: 1,
  },
  { name: "lstm2", what: "a 2-layer lstm() with h0 and c0", op: "LSTM", nodes: 2 },
  { name: "bigru", what: "a bidirectional gru() with h0", op: "GRU", nodes: 1 },
  {
    name: "bilstm_packed",
    what: "a bidirectional lstm() over packed sequences (lengths:)",
    op: "LSTM",
    nodes: 1,
  },
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
    assert.equal(graph.nodes.filter((n) => n.op === c.op).length, c.nodes, `${c.op} nodes`);

    const feeds: Record<string, Tensor> = {};
    for (const i of graph.inputs) feeds[i.name] = readFixtureNpy(`${c.name}_${i.name}.npy`);
    const expected: Record<string, Tensor> = {};
    for (const o of graph.outputs) expected[o.name] = readFixtureNpy(`${c.name}_${o.name}.npy`);
    const check = (got: Record<string, Tensor>, where: string) => {
      for (const [name, want] of Object.entries(expected)) {
        assertClose(got[name], want, `${where}, ${name}`);
      }
    };

    await t.step("the reference interpreter on the graph as declared", () => {
      check(runGraph(graph, feeds).outputs, "reference, no passes");
    });

    runPasses(graph, inferencePipeline("eval"), { mode: "eval", verify: true });
    // W, R and B are built from the PyTorch-named parameters by graph ops that fold away.
    const leftover = graph.nodes.filter((n) => ["Gather", "Unsqueeze", "Concat"].includes(n.op))
      .filter((n) => n.inputs.every((i) => graph.initializers.has(i)));
    assert.deepEqual(leftover.map((n) => n.name), [], "weight re-layout folded into initializers");

    await t.step("the reference interpreter after the inference passes", () => {
      check(runGraph(graph, feeds).outputs, "reference, after passes");
    });

    await t.step("onnxruntime-node on the emitted model", async () => {
      const session = await createSession(emitModel(graph).model);
      try {
        check(await session.run(feeds), "onnxruntime-node");
      } finally {
        await session.release();
      }
    });
  });
}
