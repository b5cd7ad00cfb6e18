import assert from "node:assert/strict";
import type { Graph } from "../../compiler/ir/graph.ts";
import type { Tensor } from "../../compiler/ir/tensor.ts";
import { compileTrain } from "../../compiler/train/mod.ts";
import { multiStep } from "../../compiler/train/multistep.ts";
import { Dataset, loadDigits } from "../data/mod.ts";
import { loadCheckpoint, train } from "./mod.ts";
import { drawFeeds, drawsAsInputs } from "./draws.ts";
import { cloneGraph } from "../../compiler/ir/graph.ts";

// A small model with dropout, so that a run's numbers depend on its random draws.
const SOURCE = `model M {
  input image: f32[N, 64]
  output logits: f32[N, 10] = image |> fc1: linear(16) |> relu |> dropout(0.5)
    |> fc2: linear(10)
}
train M {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = adam(lr: 0.01)
}`;

function compile(): Graph {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/m.dlm`, SOURCE);
  const c = compileTrain(`${dir}/m.dlm`, { seed: 1 });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  return c.step!;
}

const STEP = compile();
const DATA = new Dataset(loadDigits()).take([...Array(80).keys()]);

const bytesOf = (w: Map<string, Tensor>) =>
  [...w].map(([k, t]) => [k, [...new Uint8Array((t.data as Float32Array).buffer)]]);

for (
  const [backend, step, perRun] of [
    ["reference", STEP, 1],
    ["node", STEP, 1],
    ["node", multiStep(STEP), 3],
  ] as const
) {
  const name = `${backend}${perRun > 1 ? `, ${perRun} steps per run` : ""}`;
  Deno.test(`a dropout model interrupted after epoch 2 and resumed equals the uninterrupted run bit for bit (${name})`, async () => {
    const dir = Deno.makeTempDirSync();
    const opts = { step, data: DATA, batchSize: 16, seed: 7, backend, stepsPerRun: perRun };
    const full = await train({ ...opts, epochs: 4 });
    await train({ ...opts, epochs: 2, outDir: dir });
    const ck = loadCheckpoint(`${dir}/checkpoint.safetensors`);
    assert.deepEqual([ck.epoch, ck.steps, ck.seed], [2, 10, 7]);
    // Without the seed: the checkpoint's is used.
    const resumed = await train({ ...opts, seed: undefined, epochs: 4, resume: ck });
    assert.equal(resumed.losses.length, 20);
    assert.deepEqual(resumed.losses, full.losses);
    assert.deepEqual(bytesOf(resumed.weights), bytesOf(full.weights));
    // The draws matter: another seed trains otherwise.
    const other = await train({ ...opts, seed: 8, epochs: 1 });
    assert.notDeepEqual(other.losses, full.losses.slice(0, 5));
  });
}

Deno.test("the step's dropout mask is a fed input, drawn anew for every step and the same for the same step", () => {
  const g = cloneGraph(STEP);
  const draws = drawsAsInputs(g);
  assert.equal(g.nodes.filter((n) => n.op === "Dropout").length, 0);
  assert.deepEqual(draws.map((d) => [d.kind, d.a, d.type.dtype, d.type.shape]), [
    ["mask", 0.5, "bool", ["N", 16]],
  ]);
  const at = (
    step: number,
    seed = 0,
  ) => [...(drawFeeds(draws, { N: 64 }, seed, [step])[draws[0].input].data as Uint8Array)];
  const kept = at(0).reduce((a, b) => a + b, 0);
  assert.ok(kept > 400 && kept < 624, `${kept} of 1024 kept at ratio 0.5`);
  assert.deepEqual(at(3), at(3));
  assert.notDeepEqual(at(3), at(4));
  assert.notDeepEqual(at(3), at(3, 1));
});

Deno.test("a multi-step run draws what one step at a time draws (reference, bit for bit)", async () => {
  const opts = { data: DATA, batchSize: 16, seed: 3, backend: "reference" as const, epochs: 1 };
  const one = await train({ ...opts, step: STEP });
  const stacked = await train({ ...opts, step: multiStep(STEP), stepsPerRun: 2 });
  assert.deepEqual(stacked.losses, one.losses);
});
