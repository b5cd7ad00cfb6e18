import assert from "node:assert/strict";
import { compileTrain } from "./compile.ts";
import { PACK_MAX_ELEMENTS, packValues, unpackValues } from "./pack.ts";
import { nextName, stateInputs } from "./contract.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { prepareInputs } from "../../runtime/inputs.ts";
import { initialState, loadModel } from "../../runtime/train/mod.ts";
import { emitModel } from "../onnx/emit.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { DlmError } from "../diagnostics.ts";
import type { Graph } from "../ir/graph.ts";

const ex = (f: string) => new URL(`../../lang-examples/${f}`, import.meta.url).pathname;

/**
 * K steps of a step graph on the reference interpreter from its initial
 * state; the final state and the losses, the state by parameter name.
 */
function run(g: Graph, k: number, batch: Record<string, Tensor>) {
  const m = loadModel(g, "step model");
  let state = initialState(m);
  const names = stateInputs(m.outputNames);
  const losses: number[] = [];
  for (let i = 0; i < k; i++) {
    const out = runGraph(m.graph, { ...Object.fromEntries(state), ...batch }).outputs;
    losses.push(out.loss.data[0] as number);
    state = new Map(names.map((n) => [n, out[nextName(n)]]));
  }
  return { losses, state: unpackValues(m.packs, state), model: m };
}

function batchFor(g: Graph, n: number): Record<string, Tensor> {
  const sub = { ...g, inputs: g.inputs.filter((i) => i.name === "image" || i.name === "label") };
  const b = prepareInputs(sub, { seed: 3, dims: { N: n } });
  // Labels in range for 10 classes.
  b.label = tensor("i64", [n], Array.from({ length: n }, (_, i) => i % 10));
  return b;
}

for (const file of ["lenet_digits.dlm", "mlp_digits.dlm"]) {
  Deno.test(`${file}: the packed step is the unpacked step, bit for bit, over 3 steps`, () => {
    const plain = compileTrain(ex(file));
    const packed = compileTrain(ex(file), { pack: true });
    assert.deepEqual(packed.diagnostics, []);
    const g = packed.step!;
    assert.ok(g.packs?.length, "something is packed");
    // The members are inputs no longer; the pack and its optimiser state are.
    const members = g.packs!.flatMap((p) => p.members.map((m) => m.param));
    for (const m of members) assert.ok(!g.inputs.some((i) => i.name === m), m);
    assert.ok(g.inputs.some((i) => i.name === g.packs![0].name));
    assert.ok(g.inputs.length < plain.step!.inputs.length);
    // AdamW's 14 nodes per parameter become 14 in all; SGD's 2 per parameter stay about as many.
    const fewer = file === "lenet_digits.dlm" ? 0.6 : 1;
    assert.ok(g.nodes.length <= fewer * plain.step!.nodes.length, `${g.nodes.length} nodes`);
    const batch = batchFor(g, 8);
    const a = run(plain.step!, 3, batch), b = run(g, 3, batch);
    assert.deepEqual(b.losses, a.losses);
    assert.deepEqual([...b.state.keys()].sort(), [...a.state.keys()].sort());
    for (const [k, t] of a.state) {
      assert.deepEqual(b.state.get(k)!.shape, t.shape, k);
      assert.deepEqual([...b.state.get(k)!.data], [...t.data], k);
    }
    // The evaluation model still reads parameters by name.
    for (const m of members) assert.ok(packed.eval!.inputs.some((i) => i.name === m), m);
  });
}

Deno.test("parameters of different optimiser groups go to different packs, and decay stays per group", () => {
  const src =
    `model M { input image: f32[N, 4]  output y = image |> a: linear(3) |> relu |> b: linear(2) }
train M {
  input label: f32[N, 2]
  loss = mse(y, label)
  optimizer = adamw(lr: 0.1, weight_decay: 0.5, no_decay: "*.bias")
}`;
  const read = () => src;
  const plain = compileTrain("m.dlm", { read });
  const packed = compileTrain("m.dlm", { read, pack: true });
  assert.deepEqual(packed.diagnostics, []);
  const packs = packed.step!.packs!.map((p) => p.members.map((m) => m.param));
  assert.deepEqual(packs, [["a.weight", "b.weight"], ["a.bias", "b.bias"]]);
  const batch = {
    image: tensor("f32", [2, 4], [1, 2, 3, 4, -1, 0, 1, 2]),
    label: tensor("f32", [2, 2], [0.5, -0.5, 1, 2]),
  };
  const a = run(plain.step!, 2, batch), b = run(packed.step!, 2, batch);
  assert.deepEqual(b.losses, a.losses);
  for (const [k, t] of a.state) assert.deepEqual([...b.state.get(k)!.data], [...t.data], k);
});

Deno.test("a parameter above the size limit stays a separate input", () => {
  const width = Math.ceil((PACK_MAX_ELEMENTS + 1) / 64);
  const src =
    `model M { input image: f32[N, 64]  output y = image |> big: linear(${width}) |> small: linear(2) }
train M { input label: f32[N, 2]  loss = mse(y, label)  optimizer = sgd(lr: 0.1) }`;
  const c = compileTrain("m.dlm", { read: () => src, pack: true });
  const g = c.step!;
  assert.deepEqual(g.packs!.map((p) => p.members.map((m) => m.param)), [
    ["big.bias", "small.weight", "small.bias"],
  ]);
  assert.ok(g.inputs.some((i) => i.name === "big.weight"));
});

Deno.test("sections with phases or a moving average are not packed", () => {
  for (const f of ["gan.dlm", "moco.dlm"]) {
    const c = compileTrain(ex(f), { pack: true });
    assert.deepEqual(c.diagnostics, [], f);
    assert.equal(c.step!.packs, undefined, f);
  }
});

Deno.test("the layout survives ONNX bytes: loadModel reads it from the dlm.packs metadata", () => {
  const c = compileTrain(ex("lenet_digits.dlm"), { pack: true });
  const m = loadModel(emitModel(c.step!).model, "step model");
  assert.deepEqual(m.packs, c.step!.packs);
  // Its initial state is the pack of the members' initial values.
  const named = unpackValues(m.packs, initialState(m));
  assert.deepEqual(
    [...named.get("conv1.weight")!.data],
    [...c.eval!.initializers.get("conv1.weight")?.data ?? named.get("conv1.weight")!.data],
  );
  assert.ok(named.has("opt:m:fc1.weight"));
});

Deno.test("initial values given by name are written into the packs; a wrong shape is DLM0403", () => {
  const c = compileTrain(ex("mlp_digits.dlm"), { pack: true });
  const m = loadModel(c.step!, "step model");
  const w = tensor("f32", [32, 64], new Array(32 * 64).fill(0.25));
  const state = initialState(m, new Map([["fc1.weight", w]]));
  const named = unpackValues(m.packs, state);
  assert.ok([...named.get("fc1.weight")!.data].every((x) => x === 0.25));
  // The other members keep their initial values.
  const fresh = unpackValues(m.packs, initialState(m));
  assert.deepEqual([...named.get("fc2.weight")!.data], [...fresh.get("fc2.weight")!.data]);
  assert.throws(
    () => initialState(m, new Map([["fc1.weight", tensor("f32", [2, 2], [1, 2, 3, 4])]])),
    (e: unknown) => e instanceof DlmError && e.diagnostics[0].code === "DLM0403",
  );
});

Deno.test("packValues and unpackValues invert each other, optimiser slots included", () => {
  const packs = [{
    name: "pack:0",
    dtype: "f32" as const,
    size: 6,
    members: [
      { param: "a", offset: 0, shape: [2, 2] },
      { param: "b", offset: 4, shape: [2] },
    ],
  }];
  const named = new Map<string, Tensor>([
    ["a", tensor("f32", [2, 2], [1, 2, 3, 4])],
    ["b", tensor("f32", [2], [5, 6])],
    ["opt:m:a", tensor("f32", [2, 2], [7, 8, 9, 10])],
    ["opt:m:b", tensor("f32", [2], [11, 12])],
    ["step", tensor("i64", [], [3])],
  ]);
  const packed = packValues(packs, named);
  assert.deepEqual([...packed.keys()].sort(), ["opt:m:pack:0", "pack:0", "step"]);
  assert.deepEqual([...packed.get("pack:0")!.data], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...packed.get("opt:m:pack:0")!.data], [7, 8, 9, 10, 11, 12]);
  const back = unpackValues(packs, packed);
  for (const [k, t] of named) {
    assert.deepEqual(back.get(k)!.shape, t.shape, k);
    assert.deepEqual([...back.get(k)!.data], [...t.data], k);
  }
});

Deno.test("the running statistics of every batch norm update in one chain, as the per-layer updates do", () => {
  // Batch norms of rank 4 and rank 2 and two momenta.
  const src = `model M {
  input image: f32[N, 1, 6, 6]
  output y = image |> c1: conv2d(4, kernel: 3, pad: 1) |> b1: batch_norm |> relu
    |> c2: conv2d(3, kernel: 3, pad: 1) |> b2: batch_norm(momentum: 0.3) |> relu
    |> flatten |> fc: linear(5) |> b3: batch_norm |> relu |> out: linear(10)
}
train M { input label: i64[N]  loss = cross_entropy(y, label)  optimizer = sgd(lr: 0.1) }`;
  const read = () => src;
  const plain = compileTrain("m.dlm", { read });
  const packed = compileTrain("m.dlm", { read, pack: true });
  assert.deepEqual(packed.diagnostics, []);
  const g = packed.step!;
  const stats = g.packs!.find((p) => p.members.some((m) => m.param === "b1.running_mean"))!;
  assert.deepEqual(stats.members.map((m) => [m.param, m.offset, m.shape]), [
    ["b1.running_mean", 0, [4]],
    ["b2.running_mean", 4, [3]],
    ["b3.running_mean", 7, [5]],
    ["b1.running_var", 12, [4]],
    ["b2.running_var", 16, [3]],
    ["b3.running_var", 19, [5]],
  ]);
  for (const m of stats.members) assert.ok(!g.inputs.some((i) => i.name === m.param), m.param);
  // The statistics' updates: their nodes do not grow with the number of batch norms (the
  // count's inverse, for the unbiased variance, is the chain's own: the gradients read counts).
  const chain = g.nodes.filter((n) => n.name.startsWith("stats/"));
  assert.ok(chain.length <= 9, chain.map((n) => n.op).join(", "));
  const batch = batchFor(g, 4);
  const a = run(plain.step!, 3, batch), b = run(g, 3, batch);
  assert.deepEqual(b.losses, a.losses);
  assert.deepEqual([...b.state.keys()].sort(), [...a.state.keys()].sort());
  for (const [k, t] of a.state) assert.deepEqual([...b.state.get(k)!.data], [...t.data], k);
  // The evaluation model reads them by name.
  assert.ok(packed.eval!.inputs.some((i) => i.name === "b2.running_var"));
});
