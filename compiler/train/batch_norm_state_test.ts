import assert from "node:assert/strict";
import { compileTrain } from "./compile.ts";
import { multiStep } from "./multistep.ts";
import { nextName } from "./contract.ts";
import { type Tensor, tensor, toNumbers } from "../ir/tensor.ts";
import { emitModel } from "../onnx/emit.ts";
import { Dataset, loadDigits } from "../../runtime/data/mod.ts";
import { train } from "../../runtime/train/mod.ts";
import { loadModel } from "../../runtime/train/model.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { unpackValues } from "./pack.ts";

// Three batch norms: `a` trained, `b` frozen (still in train mode), `c` one layer applied twice.
const SRC = `model M {
  input image: f32[N, 64]
  freeze b
  let c = c: batch_norm(momentum: 0.3)
  output logits: f32[N, 10] = image |> reshape((-1, 4, 4, 4))
    |> conv1: conv2d(4, kernel: 3, pad: 1) |> a: batch_norm |> relu
    |> conv2: conv2d(4, kernel: 3, pad: 1) |> b: batch_norm |> relu
    |> conv3: conv2d(4, kernel: 3, pad: 1) |> c |> relu
    |> conv4: conv2d(4, kernel: 3, pad: 1) |> c |> relu
    |> flatten |> fc: linear(10)
}
train M { input label: i64[N]  loss = cross_entropy(logits, label)  optimizer = sgd(lr: 0.1) }`;

const COUNTERS = ["a", "b", "c"].map((l) => `${l}.num_batches_tracked`);

function compile(pack: boolean, src = SRC) {
  const c = compileTrain("m.dlm", { read: () => src, pack, seed: 3 });
  assert.deepEqual(c.diagnostics, []);
  return c;
}

// 5 batches of 16 and a last one of 8.
const data = new Dataset(loadDigits()).take([...Array(88).keys()]);
const opts = { data, epochs: 1, batchSize: 16, seed: 4, backend: "reference" as const };

const counts = (state: Map<string, Tensor>) =>
  COUNTERS.map((c) => {
    const t = state.get(c)!;
    assert.deepEqual([t.dtype, t.shape], ["i64", []], c);
    return toNumbers(t)[0];
  });

Deno.test("num_batches_tracked counts one per step, frozen or not, and k per step for a layer applied k times", async () => {
  const c = compile(false);
  const outs = c.step!.outputs.map((o) => o.name);
  for (const n of COUNTERS) {
    assert.ok(outs.includes(nextName(n)), n);
    assert.deepEqual(c.step!.inputs.find((i) => i.name === n)?.type, { dtype: "i64", shape: [] });
  }
  const r = await train({ ...opts, step: c.step! });
  assert.equal(r.losses.length, 6);
  assert.deepEqual(counts(r.weights), [6, 6, 12]);
  // The frozen batch norm's statistics move too, as PyTorch's do in training mode.
  assert.ok(toNumbers(r.weights.get("b.running_mean")!).some((x) => x !== 0));
});

Deno.test("packed, the counters are one i64 input updated by one Add, and train as unpacked, bit for bit", async () => {
  const plain = compile(false), packed = compile(true);
  const g = packed.step!;
  const pack = g.packs!.find((p) => p.dtype === "i64")!;
  assert.deepEqual(pack.members.map((m) => m.param), COUNTERS);
  assert.deepEqual(pack.members.map((m) => m.shape), [[], [], []]);
  for (const n of COUNTERS) assert.ok(!g.inputs.some((i) => i.name === n), n);
  const adds = g.nodes.filter((n) => n.op === "Add" && n.inputs.includes(pack.name));
  assert.equal(adds.length, 1);
  // Unpacked, one Add per counter (the running statistics pack differently, so only the
  // counters' Adds are compared).
  const reading = (n: { op: string; inputs: string[] }) =>
    n.op === "Add" && n.inputs.some((i) => COUNTERS.includes(i));
  assert.equal(plain.step!.nodes.filter(reading).length, COUNTERS.length);
  const a = await train({ ...opts, step: plain.step! });
  const b = await train({ ...opts, step: packed.step! });
  assert.deepEqual(b.losses, a.losses);
  assert.deepEqual([...b.state.keys()].sort(), [...a.state.keys()].sort());
  for (const [k, t] of a.state) assert.deepEqual([...b.state.get(k)!.data], [...t.data], k);
  // And through ONNX bytes, where the layout is metadata.
  const m = loadModel(emitModel(g).model, "step model");
  assert.deepEqual(m.packs, g.packs);
});

Deno.test("a multi-step run counts every step it runs", async () => {
  const c = compile(true);
  const four = await train({ ...opts, step: multiStep(c.step!), stepsPerRun: 4 });
  assert.deepEqual(counts(four.weights), [6, 6, 12]);
});

Deno.test("counting continues from the given counters (PyTorch's, a saved run's)", async () => {
  for (const pack of [false, true]) {
    const c = compile(pack);
    const initial = new Map(COUNTERS.map((n, i) => [n, tensor("i64", [], [1000 + i])]));
    const r = await train({ ...opts, step: c.step!, initial });
    assert.deepEqual(counts(r.weights), [1006, 1007, 1014], `pack ${pack}`);
  }
});

Deno.test("the evaluation model does not take num_batches_tracked, which it does not read", () => {
  const c = compile(true);
  const inputs = c.eval!.inputs.map((i) => i.name);
  for (const n of COUNTERS) assert.ok(!inputs.includes(n), n);
  assert.ok(inputs.includes("c.running_mean") && inputs.includes("a.weight"));
});

Deno.test("a section with phases counts one per step and its counters stay separate inputs", () => {
  // The later phase recomputes its loss through the batch norm without updating its statistics,
  // so the statistics, and the counter, move once per step.
  const src = `model M {
  input image: f32[N, 64]
  output logits: f32[N, 10] = image |> a: linear(8) |> bn: batch_norm |> relu |> b: linear(10)
}
train M {
  input label: i64[N]
  phase("first", loss: cross_entropy(logits, label), optimizer: sgd(lr: 0.1), params: "a.*")
  phase("second", loss: cross_entropy(logits, label), optimizer: sgd(lr: 0.1), params: "b.*")
}`;
  const c = compile(true, src);
  const g = c.step!;
  assert.equal(g.packs, undefined);
  assert.ok(g.outputs.some((o) => o.name === nextName("bn.num_batches_tracked")));
  const add = g.nodes.find((n) => n.op === "Add" && n.inputs.includes("bn.num_batches_tracked"));
  assert.ok(add, "the counter's Add");
  const one = add.inputs.find((x) => x !== "bn.num_batches_tracked")!;
  assert.deepEqual(toNumbers(g.initializers.get(one)!), [1]);
});

/**
 * One step of `src` (one batch norm `bn` of momentum 0.5 on x) from running_var = 1 on the
 * reference interpreter, packed or not, and what PyTorch's rule gives: 0.5 * 1 + 0.5 * the
 * unbiased variance of each channel's values (computed here), or 0.5 * 1 where a channel has
 * one value (the population variance is 0 there; PyTorch refuses the batch).
 */
function runningVarAfterOneStep(src: string, x: Tensor, pack: boolean) {
  const c = compileTrain("m.dlm", { read: () => src, pack, seed: 1 });
  assert.deepEqual(c.diagnostics, []);
  const g = c.step!;
  const feeds: Record<string, Tensor> = { x, step: tensor("i64", [], [0]) };
  for (const i of g.inputs) if (!(i.name in feeds)) feeds[i.name] = g.initializers.get(i.name)!;
  const out = runGraph(g, feeds).outputs;
  const packs = g.packs ?? [];
  const named = new Map<string, Tensor>();
  for (const [k, t] of Object.entries(out)) named.set(k.replace(/^next:/, ""), t);
  const got = toNumbers(unpackValues(packs, named).get("bn.running_var")!);
  // Channel values: x is [N, C, ...] with the channel on axis 1.
  const [n, ch] = x.shape as number[];
  const inner = x.shape.slice(2).reduce((a, d) => a * (d as number), 1);
  const v = toNumbers(x);
  const want = Array.from({ length: ch }, (_, k) => {
    const xs = Array.from(
      { length: n * inner },
      (_, i) => v[Math.floor(i / inner) * ch * inner + k * inner + (i % inner)],
    );
    if (xs.length === 1) return 0.5;
    const mu = xs.reduce((a, b) => a + b, 0) / xs.length;
    return 0.5 + 0.5 * xs.reduce((a, b) => a + (b - mu) ** 2, 0) / (xs.length - 1);
  });
  return { got, want, g };
}

const bnOnly = (type: string) =>
  `model M {
  input x: ${type}
  output y = x |> bn: batch_norm(momentum: 0.5)
}
train M { loss = reduce_mean(y * y * y)  optimizer = sgd(lr: 0.1) }`;

for (const pack of [false, true]) {
  const how = pack ? "packed" : "per layer";
  Deno.test(`running_var blends the batch's unbiased variance for a static batch (${how})`, () => {
    const x = tensor("f32", [2, 3, 2], Array.from({ length: 12 }, (_, i) => Math.sin(i * 2.1) * 2));
    const { got, want, g } = runningVarAfterOneStep(bnOnly("f32[2, 3, 2]"), x, pack);
    // M = 4 is static: the weights are constants, nothing reads the shape.
    assert.ok(!g.nodes.some((n) => n.op === "Shape"), "no Shape node");
    for (let k = 0; k < 3; k++) assert.ok(Math.abs(got[k] - want[k]) < 1e-5, `${got} ${want}`);
  });

  Deno.test(`running_var only decays where a channel has one value per batch (${how})`, () => {
    for (const type of ["f32[1, 3]", "f32[N, 3]"]) {
      const x = tensor("f32", [1, 3], [0.5, -2, 3]);
      const { got, want } = runningVarAfterOneStep(bnOnly(type), x, pack);
      assert.deepEqual(got, want, type);
      assert.deepEqual(want, [0.5, 0.5, 0.5]);
    }
  });
}

Deno.test("packed, a batch norm applied once is one train-mode node reading its own slots of the statistics' pack; a shared one stays split", () => {
  const g = compile(true).step!;
  const fused = g.nodes.filter((n) => n.op === "BatchNormalization" && n.attrs.training_mode === 1);
  assert.deepEqual(fused.map((n) => n.name), ["a", "b"]);
  const stats = g.packs!.find((p) => p.members.some((m) => m.param === "a.running_mean"))!;
  const splits = g.nodes.filter((n) => n.op === "Split" && n.inputs[0] === stats.name);
  assert.equal(splits.length, 1);
  const slot = (p: string) => splits[0].outputs[stats.members.findIndex((m) => m.param === p)];
  for (const bn of fused) {
    assert.deepEqual(bn.attrs, { epsilon: 1e-5, momentum: 0, training_mode: 1 });
    // onnxruntime writes the running outputs into the running inputs' buffers: each node's own.
    assert.deepEqual(bn.inputs.slice(3), [
      slot(`${bn.name}.running_mean`),
      slot(`${bn.name}.running_var`),
    ]);
    for (const i of bn.inputs.slice(3)) {
      assert.deepEqual(g.nodes.filter((n) => n.inputs.includes(i)), [bn], i);
    }
    assert.equal(bn.outputs.length, 3);
  }
  // c, applied twice, updates its statistics per application: its own ReduceMeans, two each
  // (the gradients' ReduceMeans, two per application, are the means of g and g xhat).
  const forward = g.nodes.filter((n) => n.op === "ReduceMean" && !n.name.startsWith("grad."));
  assert.equal(forward.length, 4);
  assert.ok(forward.every((n) => /^c(_1)?\//.test(n.name)));
  assert.equal(g.nodes.filter((n) => n.op === "ReduceMean").length, 4 + 2 * 4);
});

Deno.test("the fused batch norms train in onnxruntime as in the reference interpreter, run after run", async () => {
  // onnxruntime aliases a train-mode node's running outputs to its inputs: a shared or constant
  // input would be overwritten, and every later run read it wrong.
  const c = compile(true);
  const a = await train({ ...opts, step: c.step! });
  const b = await train({ ...opts, step: c.step!, backend: "node" });
  for (const [i, l] of a.losses.entries()) {
    assert.ok(Math.abs(b.losses[i] - l) <= 1e-4 * Math.abs(l), `step ${i}: ${b.losses[i]} ${l}`);
  }
  for (const [k, t] of a.state) {
    const x = toNumbers(t), y = toNumbers(b.state.get(k)!);
    for (const [i, v] of x.entries()) {
      assert.ok(Math.abs(y[i] - v) <= 1e-3 + 1e-3 * Math.abs(v), `${k}[${i}]: ${y[i]} ${v}`);
    }
  }
});
