/**
 * PyTorch as an independent oracle. The fixtures in `fixtures/torch/` were
 * made once by `fixtures/torch/make_fixtures.py` (Debian's torch 1.13.1 and
 * torchvision 0.14.1); these tests read only the committed files.
 *
 * - Names: dlm's resnet18.dlm and resnet50.dlm declare exactly torchvision's
 *   `state_dict()`: same names, same order, same shapes and dtypes (running
 *   statistics included, `num_batches_tracked` as an i64 scalar).
 * - Numbers: torch's seeded weights load by name with no weights map, and the
 *   compiled graph reproduces torch's eval-mode output within rtol 1e-4 /
 *   atol 1e-5, in the reference interpreter (before and after the inference
 *   passes, so batch-norm folding is checked against torch) and in
 *   onnxruntime-node (the emitted ONNX model).
 * - Buffers: a training step of the narrow ResNet-18 from torch's state dict
 *   continues each `num_batches_tracked` torch saved (the training-step
 *   oracle, train_step_oracle_test.ts, checks the counters torch reaches).
 */
import assert from "node:assert/strict";
import type { Graph } from "../compiler/ir/graph.ts";
import { type Tensor, tensor, toNumbers } from "../compiler/ir/tensor.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { inferencePipeline, runPasses } from "../compiler/passes/mod.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { loadWeights } from "../runtime/weights.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { nextName, stateInputs } from "../compiler/train/contract.ts";
import { unpackValues } from "../compiler/train/pack.ts";
import { readSafetensors } from "../runtime/formats/mod.ts";
import { initialState, loadModel } from "../runtime/train/mod.ts";
import { assertClose, compile, FIXTURES, pathOf, readFixtureNpy } from "./torch_fixtures.ts";

const ROOT = new URL("../", import.meta.url);

/** One row of `<model>_state_dict.json`: a torchvision state dict entry. */
interface StateEntry {
  name: string;
  shape: number[];
  dtype: string;
}

/** The graph's declared parameters and buffers as state dict rows, in declaration order. */
function declaredState(g: Graph): StateEntry[] {
  return g.params.map((p) => {
    const t = g.initializers.get(p.name);
    assert.ok(t, `parameter '${p.name}' has no initializer`);
    return { name: p.name, shape: t.shape, dtype: t.dtype };
  });
}

/** The stored input, as f32; a u8 image stands for u8 / 255 (as make_fixtures.py computed it). */
function readInput(name: string): Tensor {
  const t = readFixtureNpy(name);
  if (t.dtype === "f32") return t;
  assert.equal(t.dtype, "u8", `${name} is ${t.dtype}; expected f32 or u8`);
  // f32 division is correctly rounded, and so is a double division rounded
  // to f32 (53 >= 2 * 24 + 2 bits), so this is exactly torch's value.
  return tensor("f32", t.shape, toNumbers(t).map((v) => v / 255));
}

/**
 * Assert |actual - expected| <= atol + rtol * |expected| everywhere, naming
 * the worst element when not.
 */

function countOps(g: Graph, op: string): number {
  return g.nodes.filter((n) => n.op === op).length;
}

for (const model of ["resnet18", "resnet50"]) {
  Deno.test(`${model}.dlm declares torchvision's ${model} state dict: names, order, shapes and dtypes`, () => {
    const expected: StateEntry[] = JSON.parse(
      Deno.readTextFileSync(new URL(`${model}_state_dict.json`, FIXTURES)),
    );
    const actual = declaredState(compile(new URL(`lang-examples/${model}.dlm`, ROOT)));
    // Names first, for a readable diff when only the order or a name differs.
    assert.deepEqual(actual.map((s) => s.name), expected.map((s) => s.name));
    assert.deepEqual(actual, expected);
    const counters = actual.filter((s) => s.name.endsWith(".num_batches_tracked"));
    assert.ok(counters.length > 0);
    for (const c of counters) assert.deepEqual([c.dtype, c.shape], ["i64", []], c.name);
  });
}

interface NumericCase {
  /** Fixture prefix: `<name>.safetensors`, `<name>_input.npy`, `<name>_output.npy`. */
  name: string;
  what: string;
  dlm: URL;
  overrides?: Record<string, number>;
  /** Batch norms the passes must fold away. */
  batchNorms?: number;
}

const CASES: NumericCase[] = [
  { name: "lenet5", what: "LeNet-5", dlm: new URL("lang-examples/lenet5.dlm", ROOT) },
  {
    name: "resnet_narrow",
    what: "a narrow ResNet-18 with trained-looking batch norms",
    dlm: new URL("resnet_narrow.dlm", FIXTURES),
    batchNorms: 20,
  },
  {
    name: "tiny_inception",
    what: "a tiny GoogLeNet built from googlenet.dlm's Inception block",
    dlm: new URL("tiny_inception.dlm", FIXTURES),
  },
  {
    name: "alexnet_s32",
    what: "AlexNet at scale 32",
    dlm: new URL("lang-examples/alexnet.dlm", ROOT),
    overrides: { scale: 32, classes: 10 },
  },
];

for (const c of CASES) {
  Deno.test(`${c.what} with torch's weights matches torch's output in the interpreter and onnxruntime`, async (t) => {
    const graph = compile(c.dlm, { overrides: c.overrides });
    const weights = pathOf(new URL(`${c.name}.safetensors`, FIXTURES));
    const { loaded, warnings } = loadWeights(graph, weights);
    assert.deepEqual(
      warnings.map((w) => w.message),
      [],
      "every tensor matches a parameter and back",
    );
    assert.equal(loaded, graph.params.length);

    const x = readInput(`${c.name}_input.npy`);
    const expected = readFixtureNpy(`${c.name}_output.npy`);
    const feeds = { [graph.inputs[0].name]: x };
    const output = graph.outputs[0].name;
    assert.equal(countOps(graph, "BatchNormalization"), c.batchNorms ?? 0);

    await t.step("the reference interpreter on the graph as declared", () => {
      assertClose(runGraph(graph, feeds).outputs[output], expected, "reference, no passes");
    });

    runPasses(graph, inferencePipeline("eval"), { mode: "eval", verify: true });
    assert.equal(countOps(graph, "BatchNormalization"), 0, "the passes fold every batch norm");

    await t.step("the reference interpreter after the inference passes", () => {
      assertClose(runGraph(graph, feeds).outputs[output], expected, "reference, after passes");
    });

    await t.step("onnxruntime-node on the emitted model", async () => {
      const session = await createSession(emitModel(graph).model);
      try {
        const got = await session.run(feeds);
        assertClose(got[output], expected, "onnxruntime-node");
      } finally {
        await session.release();
      }
    });
  });
}

Deno.test("a training step of the narrow ResNet-18 continues the num_batches_tracked of torch's state dict", () => {
  // torch's counters here are arbitrary (make_fixtures.py draws them): each is one more after a step.
  const url = new URL("resnet_narrow.dlm", FIXTURES);
  const section = `
train ResNet18Narrow {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.01)
}`;
  const c = compileTrain(pathOf(url), {
    read: (p) => Deno.readTextFileSync(p) + (p === pathOf(url) ? section : ""),
    pack: true,
  });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const weights = pathOf(new URL("resnet_narrow.safetensors", FIXTURES));
  const torch = readSafetensors(Deno.readFileSync(weights), weights).tensors;
  assert.deepEqual(loadWeights(c.step!, weights).warnings.map((w) => w.message), []);
  const m = loadModel(c.step!, "step model");
  const x = readInput("resnet_narrow_input.npy");
  const label = tensor("i64", [x.shape[0]], Array.from({ length: x.shape[0] }, (_, i) => i % 10));
  const out = runGraph(m.graph, { ...Object.fromEntries(initialState(m)), image: x, label })
    .outputs;
  const next = unpackValues(
    m.packs,
    new Map(stateInputs(m.outputNames).map((n) => [n, out[nextName(n)]])),
    m.defaults,
  );
  const counters = [...torch.keys()].filter((k) => k.endsWith(".num_batches_tracked"));
  assert.equal(counters.length, 20);
  for (const k of counters) {
    const was = toNumbers(torch.get(k)!)[0];
    assert.ok(was > 0, k);
    assert.deepEqual([next.get(k)!.dtype, toNumbers(next.get(k)!)], ["i64", [was + 1]], k);
  }
});
