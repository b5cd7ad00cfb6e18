import assert from "node:assert/strict";
import { compileTrain } from "./compile.ts";
import { multiStep, STEPS_DIM } from "./multistep.ts";
import { Dataset, loadDigits } from "../../runtime/data/mod.ts";
import { train } from "../../runtime/train/mod.ts";
import { loadModel } from "../../runtime/train/model.ts";
import { emitModel } from "../onnx/emit.ts";
import { tensor } from "../ir/tensor.ts";

const ex = (f: string) => new URL(`../../lang-examples/${f}`, import.meta.url).pathname;

/** lenet_digits without dropout (each backend draws its own masks), packed as dlm train packs it. */
function lenet() {
  const path = ex("lenet_digits.dlm");
  const read = (p: string) => {
    const text = Deno.readTextFileSync(p);
    return p === path ? text.replace("dropout(0.3)", "dropout(0.0)") : text;
  };
  const c = compileTrain(path, { seed: 0, read, pack: true });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  return c;
}

// 10 batches of 16 and a last one of 8: groups of 3, 3, 3, 1 and the short one alone.
const data = new Dataset(loadDigits()).take([...Array(168).keys()]);

Deno.test("a multi-step model has the step's state, stacked batch inputs and per-step losses", () => {
  const c = lenet();
  const m = multiStep(c.step!);
  const step = loadModel(c.step!, "step model"), multi = loadModel(m, "multi-step model");
  assert.equal(multi.multiStep, true);
  assert.equal(step.multiStep, false);
  assert.deepEqual(multi.inputNames, step.inputNames);
  assert.deepEqual(multi.outputNames.sort(), step.outputNames.sort());
  assert.deepEqual(m.inputs.find((i) => i.name === "image")!.type.shape, [STEPS_DIM, "N", 64]);
  assert.deepEqual(m.outputs.find((o) => o.name === "loss")!.type.shape, [STEPS_DIM]);
  assert.deepEqual(m.packs, c.step!.packs);
  // Initial values stay the state inputs' defaults, and the layout survives ONNX bytes.
  const again = loadModel(emitModel(m).model, "multi-step model");
  assert.deepEqual([...again.defaults.keys()].sort(), [...step.defaults.keys()].sort());
  assert.deepEqual(again.packs, c.step!.packs);
  assert.equal(again.multiStep, true);
});

Deno.test("three steps per run train exactly as one step per run, on the reference", async () => {
  const c = lenet();
  const opts = { data, epochs: 2, batchSize: 16, seed: 5, backend: "reference" as const };
  const one = await train({ ...opts, step: c.step! });
  const three = await train({ ...opts, step: multiStep(c.step!), stepsPerRun: 3 });
  assert.equal(one.losses.length, 22);
  assert.deepEqual(three.losses, one.losses);
  assert.deepEqual([...three.state.keys()].sort(), [...one.state.keys()].sort());
  for (const [k, t] of one.state) assert.deepEqual([...three.state.get(k)!.data], [...t.data], k);
  assert.deepEqual(three.history.map((h) => h.values), one.history.map((h) => h.values));
});

Deno.test("eight steps per run on onnxruntime-node agree with one step per run", async () => {
  const c = lenet();
  const opts = { data, epochs: 1, batchSize: 16, seed: 5, backend: "node" as const };
  const one = await train({ ...opts, step: c.step! });
  const eight = await train({ ...opts, step: multiStep(c.step!) });
  assert.equal(eight.losses.length, 11);
  for (let i = 0; i < one.losses.length; i++) {
    assert.ok(Math.abs(eight.losses[i] - one.losses[i]) < 1e-4, `step ${i}`);
  }
  for (const [k, t] of one.weights) {
    const a = t.data as Float32Array, b = eight.weights.get(k)!.data as Float32Array;
    let worst = 0;
    for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(a[j] - b[j]));
    assert.ok(worst < 1e-4, `${k}: max abs difference ${worst}`);
  }
});

Deno.test("batch-norm statistics are state a multi-step run carries from step to step", async () => {
  const src = `model M {
  input image: f32[N, 64]
  output logits: f32[N, 10] = image |> reshape((-1, 4, 4, 4)) |> c: conv2d(8, kernel: 3, pad: 1)
    |> bn: batch_norm |> relu |> flatten |> fc: linear(10)
}
train M { input label: i64[N]  loss = cross_entropy(logits, label)  optimizer = sgd(lr: 0.1, momentum: 0.9) }`;
  const c = compileTrain("m.dlm", { read: () => src, pack: true });
  assert.deepEqual(c.diagnostics, []);
  const opts = { data, epochs: 1, batchSize: 16, seed: 1, backend: "reference" as const };
  const one = await train({ ...opts, step: c.step! });
  const four = await train({ ...opts, step: multiStep(c.step!), stepsPerRun: 4 });
  assert.deepEqual(four.losses, one.losses);
  const mean = one.state.get("bn.running_mean")!;
  assert.ok([...mean.data].some((x) => x !== 0), "the statistics moved");
  assert.deepEqual([...four.state.get("bn.running_mean")!.data], [...mean.data]);
});

Deno.test("a step whose Loop bodies read the step's values trains alike K steps per run", async () => {
  // linear_sum_assignment's Loop bodies read the cost and other step values by name: the Scan
  // body renames them, and must rename them inside the Loop bodies too.
  const src = `model M {
  input x: f32[N, 4]
  output p = reshape(x |> a: linear(10), (-1, 5, 2))
}
train M {
  input t: f32[N, 3, 2]
  input valid: f32[N, 3]
  let cost = reduce_sum(abs(unsqueeze(t, (2)) - unsqueeze(p, (1))), (3))
  let (q, _) = linear_sum_assignment(cost, mask: valid)
  let idx = expand(unsqueeze(where(q < 0, zeros_like(q), q), (2)), (-1, 3, 2))
  loss = reduce_sum(abs(take_along_axis(p, idx, axis: 1) - t) * unsqueeze(valid, (2))) / 6.0
  optimizer = sgd(lr: 0.05)
}`;
  const c = compileTrain("m.dlm", { read: () => src, seed: 0 });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const n = 24;
  const val = (k: number) => ((k * 7919) % 23) / 23;
  const sets = new Dataset({
    x: tensor("f32", [n, 4], Array.from({ length: n * 4 }, (_, k) => val(k))),
    t: tensor("f32", [n, 3, 2], Array.from({ length: n * 6 }, (_, k) => val(k + 5))),
    valid: tensor("f32", [n, 3], Array.from({ length: n * 3 }, (_, k) => (k % 4 === 3 ? 0 : 1))),
  });
  for (const backend of ["reference", "node"] as const) {
    const opts = { data: sets, epochs: 1, batchSize: 4, seed: 1, backend, shuffle: false };
    const one = await train({ ...opts, step: c.step! });
    const three = await train({ ...opts, step: multiStep(c.step!), stepsPerRun: 3 });
    assert.equal(one.losses.length, 6);
    for (let i = 0; i < 6; i++) {
      assert.ok(Math.abs(three.losses[i] - one.losses[i]) <= 1e-6, `${backend} step ${i}`);
    }
  }
});
