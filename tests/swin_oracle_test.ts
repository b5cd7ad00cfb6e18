/**
 * lang-examples/swin.dlm against torchvision's Swin Transformer. The
 * fixtures in `fixtures/torch/` were made once by
 * `fixtures/torch/make_swin_fixtures.py` (torch 1.13.1, torchvision 0.14.1);
 * these tests read only the committed files.
 *
 * - Names: SwinT declares torchvision's swin_t state dict (and SwinTiny that
 *   of torchvision's SwinTransformer at the same configuration), with the same
 *   shapes; the one difference is that relative_position_index is a constant
 *   here, not a buffer. Within a block the relative position bias table comes
 *   after attn.qkv (torch lists it first), so names are compared as sets.
 * - Numbers: torchvision's seeded SwinTiny weights (wide bias tables and
 *   layer norms) load by name with no weights map, and the graph reproduces
 *   torch's eval-mode logits within rtol 1e-4 / atol 1e-5 in the reference
 *   interpreter and in onnxruntime-node.
 */
import assert from "node:assert/strict";
import { compileFile, hasErrors } from "../compiler/compile.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import type { Graph } from "../compiler/ir/graph.ts";
import { type Tensor, toNumbers } from "../compiler/ir/tensor.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { inferencePipeline, runPasses } from "../compiler/passes/mod.ts";
import { readNpy } from "../runtime/formats/mod.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { loadWeights } from "../runtime/weights.ts";

const SWIN = decodeURIComponent(new URL("../lang-examples/swin.dlm", import.meta.url).pathname);
const FIXTURES = new URL("fixtures/torch/", import.meta.url);
const RTOL = 1e-4;
const ATOL = 1e-5;

interface StateEntry {
  name: string;
  shape: number[];
  dtype: string;
}

function compile(model: string): Graph {
  const r = compileFile(SWIN, { model, mode: "eval" });
  if (hasErrors(r.diagnostics) || !r.graph) {
    assert.fail(r.diagnostics.map((d) => formatDiagnostic(d, r.sources)).join("\n"));
  }
  return r.graph;
}

function byName(rows: StateEntry[]): StateEntry[] {
  return [...rows].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function readFixtureNpy(name: string): Tensor {
  const url = new URL(name, FIXTURES);
  return readNpy(Deno.readFileSync(url), decodeURIComponent(url.pathname));
}

function assertClose(actual: Tensor, expected: Tensor, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = toNumbers(actual), e = toNumbers(expected);
  for (let i = 0; i < e.length; i++) {
    const tol = ATOL + RTOL * Math.abs(e[i]);
    assert.ok(
      Math.abs(a[i] - e[i]) <= tol,
      `${what}: element ${i} is ${a[i]} but torch says ${e[i]} (rtol ${RTOL}, atol ${ATOL})`,
    );
  }
}

for (
  const [model, fixture] of [["SwinT", "swin_t"], ["SwinTiny", "swin_tiny"]] as const
) {
  Deno.test(`swin.dlm's ${model} declares torchvision's state dict apart from relative_position_index`, () => {
    const torch: StateEntry[] = JSON.parse(
      Deno.readTextFileSync(new URL(`${fixture}_state_dict.json`, FIXTURES)),
    );
    const expected = torch.filter((s) => !s.name.endsWith(".relative_position_index"));
    assert.equal(torch.length - expected.length, model === "SwinT" ? 12 : 4);
    const g = compile(model);
    const actual = g.params.map((p) => {
      const t = g.initializers.get(p.name)!;
      return { name: p.name, shape: t.shape, dtype: t.dtype };
    });
    assert.deepEqual(byName(actual).map((s) => s.name), byName(expected).map((s) => s.name));
    assert.deepEqual(byName(actual), byName(expected));
  });
}

Deno.test("SwinTiny with torchvision's weights matches torch's logits in the interpreter and onnxruntime", async (t) => {
  const graph = compile("SwinTiny");
  const { loaded, warnings } = loadWeights(
    graph,
    decodeURIComponent(new URL("swin_tiny.safetensors", FIXTURES).pathname),
  );
  // The only leftovers are torchvision's index buffers, which are constants here.
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0].message,
    /^4 tensors in .* match no parameter: .*relative_position_index/,
  );
  assert.equal(loaded, graph.params.length);

  const feeds = { [graph.inputs[0].name]: readFixtureNpy("swin_tiny_input.npy") };
  const expected = readFixtureNpy("swin_tiny_output.npy");
  const output = graph.outputs[0].name;

  await t.step("the reference interpreter on the graph as declared", () => {
    assertClose(runGraph(graph, feeds).outputs[output], expected, "reference, no passes");
  });
  runPasses(graph, inferencePipeline("eval"), { mode: "eval", verify: true });
  await t.step("onnxruntime-node on the emitted model after the inference passes", async () => {
    const session = await createSession(emitModel(graph).model);
    try {
      assertClose((await session.run(feeds))[output], expected, "onnxruntime-node");
    } finally {
      await session.release();
    }
  });
});
