/**
 * `layer_norm(axis: 1)` and a block that owns a built-in layer's parameters (`_: layer_norm`),
 * against torchvision's ConvNeXt LayerNorm2d: the fixture (tests/fixtures/torch/
 * make_layer_norm2d_fixtures.py) saves torch's state dict, whose names the .dlm twin must give
 * exactly, an input and torch's output.
 */
import assert from "node:assert/strict";
import { cloneGraph } from "../compiler/ir/graph.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { runPasses } from "../compiler/passes/mod.ts";
import { pipelineFor } from "../compiler/passes/targets.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { loadWeights } from "../runtime/weights.ts";
import { assertClose, compile, FIXTURES, pathOf, readFixtureNpy } from "./torch_fixtures.ts";

Deno.test("LayerNorm2d as a block with _: layer_norm(axis: 1) has torchvision's names and numbers", async (t) => {
  const graph = compile(new URL("layer_norm2d.dlm", FIXTURES));
  assert.deepEqual(graph.params.map((p) => p.name), [
    "stem.0.weight",
    "stem.0.bias",
    "stem.1.weight",
    "stem.1.bias",
    "conv2d_0.weight",
    "conv2d_0.bias",
    "norm.weight",
    "norm.bias",
  ]);
  const { loaded, warnings } = loadWeights(
    graph,
    pathOf(new URL("layer_norm2d.safetensors", FIXTURES)),
  );
  assert.deepEqual(warnings.map((w) => w.message), [], "every tensor matches a parameter");
  assert.equal(loaded, graph.params.length);
  const feeds = { x: readFixtureNpy("layer_norm2d_x.npy") };
  const expected = readFixtureNpy("layer_norm2d_y.npy");

  await t.step("the reference interpreter", () => {
    assertClose(runGraph(graph, feeds).outputs.y, expected, "reference");
  });
  await t.step("onnxruntime-node after the passes", async () => {
    const g = cloneGraph(graph);
    runPasses(g, pipelineFor("onnx", "eval"), { mode: "eval", verify: true });
    const session = await createSession(emitModel(g).model);
    try {
      assertClose((await session.run(feeds)).y, expected, "onnxruntime-node");
    } finally {
      await session.release();
    }
  });
});
