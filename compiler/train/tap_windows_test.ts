/**
 * Weights a training step reads at some kernel taps only are trained on those taps
 * (compiler/train/pack.ts, tapWindows): the step packs their live taps, runners put the others
 * back, and the results are those of the step over every tap.
 */
import assert from "node:assert/strict";
import { compileTrain } from "./compile.ts";
import { packValues, tapWindows, unpackValues } from "./pack.ts";
import { nextName, optSlotName, stateInputs } from "./contract.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { initialState, loadModel, stateInParamShapes, train } from "../../runtime/train/mod.ts";
import { emitModel } from "../onnx/emit.ts";
import { numel, type Tensor, tensor, zeros } from "../ir/tensor.ts";
import { DlmError } from "../diagnostics.ts";
import { emptyGraph, type Graph } from "../ir/graph.ts";
import { multiStep } from "./multistep.ts";
import { Dataset } from "../../runtime/data/mod.ts";

const root = new URL("../../", import.meta.url).pathname;

/** a: 3x3 stride 2 on a 2x2 map reads taps (1..2, 1..2); b: 3x3 on the 1x1 map, its centre. */
const model = (optimizer: string) =>
  `model M {
  input x: f32[N, 4, 2, 2]
  output y: f32[N, 6, 1, 1] = x |> a: conv2d(8, kernel: 3, stride: 2, pad: 1) |> relu
    |> b: conv2d(6, kernel: 3, pad: 1, bias: false)
}
train M { loss = reduce_mean(y * y)  optimizer = ${optimizer} }`;

const compile = (src: string, pack: boolean) => {
  const c = compileTrain("m.dlm", { read: () => src, pack });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  return c.step!;
};

const batch = (): Record<string, Tensor> => ({
  x: tensor("f32", [3, 4, 2, 2], Array.from({ length: 48 }, (_, i) => Math.sin(i * 0.7))),
});

/** K steps on the reference interpreter; the state by parameter name, optimiser state included. */
function run(g: Graph, k: number) {
  const m = loadModel(g, "step model");
  let state = initialState(m);
  const names = stateInputs(m.outputNames);
  for (let i = 0; i < k; i++) {
    const out = runGraph(m.graph, { ...Object.fromEntries(state), ...batch() }).outputs;
    state = new Map(names.map((n) => [n, out[nextName(n)]]));
  }
  return stateInParamShapes(m, unpackValues(m.packs, state, m.defaults));
}

const taps = (g: Graph, param: string) =>
  g.packs?.flatMap((p) => p.members).find((m) => m.param === param)?.taps;

function assertClose(got: Tensor, want: Tensor, what: string) {
  assert.deepEqual(got.shape, want.shape, what);
  if (want.dtype !== "f32") return assert.deepEqual(got, want, what);
  for (let i = 0; i < want.data.length; i++) {
    const a = got.data[i] as number, b = want.data[i] as number;
    assert.ok(Math.abs(a - b) <= 1e-6 + 1e-5 * Math.abs(b), `${what}[${i}]: ${a} vs ${b}`);
  }
}

for (
  const opt of [
    "sgd(lr: 0.1, momentum: 0.9)",
    "sgd(lr: 0.1, momentum: 0.9, nesterov: true)",
    "adam(lr: 0.01)",
    "rmsprop(lr: 0.01, centered: true, momentum: 0.5)",
    "adagrad(lr: 0.1)",
  ]
) {
  Deno.test(`${opt}: the step over the live taps is the step over every tap, 3 steps`, () => {
    const src = model(opt);
    const g = compile(src, true);
    assert.deepEqual(taps(g, "a.weight"), [4, 5, 7, 8]);
    assert.deepEqual(taps(g, "b.weight"), [4]);
    // Neither weight is a step input; nothing picks taps in the step any more.
    for (const w of ["a.weight", "b.weight"]) assert.ok(!g.inputs.some((i) => i.name === w), w);
    assert.ok(!g.nodes.some((n) => n.name.includes("/taps/pick")));
    const want = run(compile(src, false), 3), got = run(g, 3);
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [k, t] of want) assertClose(got.get(k)!, t, k);
    // The taps the step does not train are their initial values, bit for bit; their state zero.
    const init = loadModel(g, "step model").defaults.get("b.weight")!;
    const b = got.get("b.weight")!;
    for (let i = 0; i < numel(b.shape); i++) {
      if (i % 9 !== 4) assert.equal(b.data[i], init.data[i]);
    }
    for (const [k, t] of got) {
      if (!k.startsWith("opt:") || !k.endsWith("b.weight")) continue;
      for (let i = 0; i < t.data.length; i++) if (i % 9 !== 4) assert.equal(t.data[i], 0, k);
    }
  });
}

Deno.test("with weight decay (or AdamW's default), every tap moves: no windows", () => {
  for (const opt of ["sgd(lr: 0.1, momentum: 0.9, weight_decay: 0.01)", "adamw(lr: 0.01)"]) {
    const g = compile(model(opt), true);
    assert.equal(taps(g, "a.weight"), undefined, opt);
    assert.equal(taps(g, "b.weight"), undefined, opt);
  }
  const g = compile(model("adamw(lr: 0.01, weight_decay: 0)"), true);
  assert.deepEqual(taps(g, "b.weight"), [4]);
});

Deno.test("tapWindows: only a weight whose sole reader is a 0/1 pick of its rows", () => {
  const graph = (pick: number[], extra: boolean): Graph => {
    const g = emptyGraph("g");
    g.inputs.push({ name: "w", type: { dtype: "f32", shape: [2, 2, 3, 3] } });
    g.initializers.set("w", zeros("f32", [2, 2, 3, 3]));
    g.initializers.set("s", tensor("i64", [2], [4, 9]));
    g.initializers.set("p", tensor("f32", [9, pick.length / 9], pick));
    g.types.set("rows", { dtype: "f32", shape: [4, 9] });
    g.types.set("picked", { dtype: "f32", shape: [4, pick.length / 9] });
    const node = (op: string, inputs: string[], output: string) =>
      g.nodes.push({ op, name: output, inputs, outputs: [output], attrs: {} });
    node("Reshape", ["w", "s"], "rows");
    node("MatMul", ["rows", "p"], "picked");
    g.outputs.push({ name: "picked", type: g.types.get("picked")! });
    if (extra) {
      node("Identity", ["w"], "w2");
      g.outputs.push({ name: "w2", type: { dtype: "f32", shape: [2, 2, 3, 3] } });
    }
    return g;
  };
  const centre = Array.from({ length: 9 }, (_, i) => (i === 4 ? 1 : 0));
  const two = Array.from({ length: 18 }, (_, i) => (i === 2 * 1 || i === 2 * 5 + 1 ? 1 : 0));
  assert.deepEqual(tapWindows(graph(centre, false), ["w"], () => true).get("w")?.taps, [4]);
  assert.deepEqual(tapWindows(graph(two, false), ["w"], () => true).get("w")?.taps, [1, 5]);
  // Read elsewhere too, an optimiser that moves zeros, or not a 0/1 pick: trained whole.
  assert.equal(tapWindows(graph(centre, true), ["w"], () => true).size, 0);
  assert.equal(tapWindows(graph(centre, false), ["w"], () => false).size, 0);
  const scaled = centre.map((v) => v * 2);
  assert.equal(tapWindows(graph(scaled, false), ["w"], () => true).size, 0);
  const twice = Array.from({ length: 18 }, (_, i) => (i === 8 || i === 9 ? 1 : 0)); // rows 4, 4
  assert.equal(tapWindows(graph(twice, false), ["w"], () => true).size, 0);
});

Deno.test("ResNet-18 at 32x32: layer 4's 3x3 weights are packs of their live taps, one each", () => {
  const c = compileTrain(root + "bench/resnet18_train.dlm", { pack: true });
  const g = c.step!;
  const alone = g.packs!.filter((p) => p.members.length === 1 && p.members[0].taps);
  assert.deepEqual(
    alone.map((p) => [p.members[0].param, p.members[0].taps, p.size]),
    [
      ["layer4.0.conv1.weight", [4, 5, 7, 8], 512 * 256 * 4],
      ["layer4.0.conv2.weight", [4], 512 * 512],
      ["layer4.1.conv1.weight", [4], 512 * 512],
      ["layer4.1.conv2.weight", [4], 512 * 512],
    ],
  );
  // The momentum is the pack's: a ninth of the weight.
  const m = g.inputs.find((i) => i.name === optSlotName("momentum", alone[1].name))!;
  assert.equal(numel(m.type.shape as number[]), 512 * 512);
  // The full initial weights stay with the step (no node reads them), and survive ONNX bytes.
  const bytes = emitModel(g).model;
  const loaded = loadModel(bytes, "step model");
  assert.deepEqual(loaded.packs, g.packs);
  assert.deepEqual(loaded.defaults.get("layer4.1.conv1.weight")!.shape, [512, 512, 3, 3]);
  assert.ok(!loaded.graph.initializers.has("layer4.1.conv1.weight"));
  // So does the multi-step model dlm train runs.
  const multi = loadModel(multiStep(g), "multi-step model");
  assert.deepEqual(multi.defaults.get("layer4.1.conv1.weight")!.shape, [512, 512, 3, 3]);
});

Deno.test("optimiser state to resume that is not zero off the taps is DLM0424", () => {
  const g = compile(model("sgd(lr: 0.1, momentum: 0.9)"), true);
  const m = loadModel(g, "step model");
  const ok = zeros("f32", [6, 8, 3, 3]);
  (ok.data as Float32Array)[4] = 1; // a live tap
  const packed = packValues(m.packs, new Map([[optSlotName("momentum", "b.weight"), ok]]));
  const slot = [...packed.keys()].find((k) => k.startsWith("opt:momentum:pack:"))!;
  assert.ok(slot);
  const bad = zeros("f32", [6, 8, 3, 3]);
  (bad.data as Float32Array)[3] = 1; // a tap only padding reads
  assert.throws(
    () => packValues(m.packs, new Map([[optSlotName("momentum", "b.weight"), bad]])),
    (e) => e instanceof DlmError && e.diagnostics[0].code === "DLM0424",
  );
  // Unpacking without the values the step started from cannot rebuild the weight: DLM0416.
  assert.throws(
    () => unpackValues(m.packs, initialState(m)),
    (e) => e instanceof DlmError && e.diagnostics[0].code === "DLM0416",
  );
});

Deno.test("dlm train's loop: given weights keep their other taps; a resume continues exactly", async () => {
  const g = compile(model("sgd(lr: 0.1, momentum: 0.9)"), true);
  const w = zeros("f32", [6, 8, 3, 3]);
  for (let i = 0; i < w.data.length; i++) (w.data as Float32Array)[i] = Math.cos(i);
  const data = new Dataset({
    x: tensor("f32", [6, 4, 2, 2], Array.from({ length: 96 }, (_, i) => Math.sin(i * 0.3))),
  });
  const opts = { step: g, data, batchSize: 3, backend: "reference" as const, shuffle: false };
  const whole = await train({ ...opts, epochs: 2, initial: new Map([["b.weight", w]]) });
  const b = whole.weights.get("b.weight")!;
  for (let i = 0; i < b.data.length; i++) {
    if (i % 9 !== 4) assert.equal(b.data[i], w.data[i]);
    else assert.notEqual(b.data[i], w.data[i]);
  }
  // One epoch, then a resume from its state: the same weights as two epochs at once.
  const first = await train({ ...opts, epochs: 1, initial: new Map([["b.weight", w]]) });
  const resumed = await train({
    ...opts,
    epochs: 2,
    initial: new Map([["b.weight", w]]),
    resume: {
      state: first.state,
      epoch: 1,
      history: first.history,
      losses: first.losses,
      steps: 2,
      seed: 0,
    },
  });
  for (const [k, t] of whole.state) {
    if (k === "step") continue;
    assert.deepEqual([...resumed.state.get(k)!.data], [...t.data], k);
  }
  // onnxruntime runs the same step, two per run as a Scan (dlm train runs 8 so).
  const ort = await train({
    ...opts,
    step: multiStep(g),
    stepsPerRun: 2,
    backend: "node",
    epochs: 2,
    initial: new Map([["b.weight", w]]),
  });
  for (const [k, t] of whole.state) {
    if (t.dtype === "f32") assertClose(ort.state.get(k)!, t, `onnxruntime ${k}`);
  }
});
