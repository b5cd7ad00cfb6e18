/**
 * `group_norm(groups)` against torch.nn.GroupNorm: values, and through grad() the gradients of a
 * scalar with respect to the input and the layer's weight and bias. The fixture
 * (tests/fixtures/torch/make_group_norm_fixtures.py) saves torch's state dict, whose names the
 * .dlm twin gives, the inputs, torch's output and torch's gradients.
 */
import assert from "node:assert/strict";
import { cloneGraph } from "../compiler/ir/graph.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { runPasses } from "../compiler/passes/mod.ts";
import { pipelineFor } from "../compiler/passes/targets.ts";
import { compileFile, hasErrors } from "../compiler/compile.ts";
import { formatType } from "../compiler/ir/graph.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { loadWeights } from "../runtime/weights.ts";
import { assertClose, compile, FIXTURES, pathOf, readFixtureNpy } from "./torch_fixtures.ts";

Deno.test("group_norm() gives torch's GroupNorm values and gradients in both runtimes", async (t) => {
  const graph = compile(new URL("group_norm.dlm", FIXTURES));
  assert.deepEqual(graph.params.map((p) => p.name), [
    "conv.weight",
    "conv.bias",
    "gn.weight",
    "gn.bias",
  ]);
  const { loaded, warnings } = loadWeights(
    graph,
    pathOf(new URL("group_norm.safetensors", FIXTURES)),
  );
  assert.deepEqual(warnings.map((w) => w.message), [], "every tensor matches a parameter");
  assert.equal(loaded, graph.params.length);
  const feeds = { x: readFixtureNpy("group_norm_x.npy"), r: readFixtureNpy("group_norm_r.npy") };
  const expected: Record<string, string> = {
    out: "group_norm_y.npy",
    grad_x: "group_norm_dx.npy",
    grad_weight: "group_norm_dweight.npy",
    grad_bias: "group_norm_dbias.npy",
  };
  await t.step("the reference interpreter", () => {
    const outs = runGraph(graph, feeds).outputs;
    for (const [name, file] of Object.entries(expected)) {
      assertClose(outs[name], readFixtureNpy(file), `reference ${name}`);
    }
  });
  await t.step("onnxruntime-node after the passes", async () => {
    const g = cloneGraph(graph);
    runPasses(g, pipelineFor("onnx", "eval"), { mode: "eval", verify: true });
    const session = await createSession(emitModel(g).model);
    try {
      const outs = await session.run(feeds);
      for (const [name, file] of Object.entries(expected)) {
        assertClose(outs[name], readFixtureNpy(file), `onnxruntime ${name}`);
      }
    } finally {
      await session.release();
    }
  });
});

function compileText(src: string) {
  return compileFile("m.dlm", { read: (p) => (p === "m.dlm" ? src : new Error("no file")) });
}

function diagnostics(src: string): string[] {
  const r = compileText(src);
  return hasErrors(r.diagnostics) ? r.diagnostics.map((d) => `${d.code}: ${d.message}`) : [];
}

Deno.test("group_norm() rejects groups that do not divide the channels, and a symbolic C", () => {
  assert.deepEqual(
    diagnostics("model M {\n  input x: f32[N, 6, 4]\n  output y = x |> group_norm(4)\n}\n"),
    ["DLM0210: group_norm() needs groups dividing the 6 channels, got 4"],
  );
  assert.deepEqual(
    diagnostics("model M {\n  input x: f32[N, C, 4]\n  output y = x |> group_norm(2)\n}\n"),
    ["DLM0203: group_norm() needs a known number of channels (dim 1), got f32[N, C, 4]"],
  );
});

Deno.test("group_norm() keeps symbolic spatial dims and the [N, C] case", () => {
  for (const type of ["f32[N, 8, H, W]", "f32[N, 8]"]) {
    const r = compileText(`model M {\n  input x: ${type}\n  output y = x |> group_norm(2)\n}\n`);
    assert.ok(!hasErrors(r.diagnostics), JSON.stringify(r.diagnostics));
    assert.equal(formatType(r.graph!.types.get(r.graph!.outputs[0].name)!), type);
  }
});
