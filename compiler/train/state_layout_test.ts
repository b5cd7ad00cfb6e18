import assert from "node:assert/strict";
import { compileTrain } from "./compile.ts";
import { fedInput, nextName, parseOptSlot, stateInputs } from "./contract.ts";
import { stateInUpdateLayout } from "./state_layout.ts";
import { cloneGraph, emptyGraph, type Graph } from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { verifyGraph } from "../ops/verify.ts";
import { emitModel } from "../onnx/emit.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { createSession } from "../../runtime/ort/mod.ts";
import { prepareInputs } from "../../runtime/inputs.ts";
import {
  initialState,
  loadCheckpoint,
  loadModel,
  stateInParamShapes,
  train,
} from "../../runtime/train/mod.ts";
import { Dataset } from "../../runtime/data/mod.ts";
import { multiStep } from "./multistep.ts";

/**
 * SGD's momentum of a weight [2, 3, 2, 2] as fuse_gemm_accumulate leaves it: a Gemm [2, 12], then
 * a Reshape to the weight's shape; or written through an Unsqueeze (the state [2, 12, 1]) or an
 * Identity (the state [2, 12]).
 */
function momentumStep(view: "Reshape" | "Unsqueeze" | "Identity" = "Reshape"): Graph {
  const g = emptyGraph("m");
  const b = new GraphBuilder(g);
  const shape = { Reshape: [2, 3, 2, 2], Unsqueeze: [2, 12, 1], Identity: [2, 12] }[view];
  const w = b.input("W", { dtype: "f32", shape });
  const v = b.input("opt:momentum:W", { dtype: "f32", shape });
  const dy = b.input("dy", { dtype: "f32", shape: [2, 5] });
  const cols = b.input("cols", { dtype: "f32", shape: [12, 5] });
  const i64 = (name: string, xs: number[]) =>
    b.initializer(name, {
      dtype: "i64",
      shape: [xs.length],
      data: new BigInt64Array(xs.map(BigInt)),
    });
  const [v2] = view === "Identity" ? [v] : b.addNode("Reshape", [v, i64("rows", [2, 12])]);
  const [acc] = b.addNode("Gemm", [dy, cols, v2], { transB: 1, beta: 0.9 });
  const [next] = view === "Reshape"
    ? b.addNode("Reshape", [acc, i64("kernel", shape)])
    : view === "Unsqueeze"
    ? b.addNode("Unsqueeze", [acc, i64("axes", [2])])
    : b.addNode("Identity", [acc]);
  const lr = b.initializer("lr", { dtype: "f32", shape: [], data: new Float32Array([0.1]) });
  const [step] = b.addNode("Mul", [next, lr]);
  const [w2] = b.addNode("Sub", [w, step]);
  b.output(next, nextName(v));
  b.output(w2, nextName(w));
  return g;
}

const values = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3));

Deno.test("momentum written by a Gemm is declared in the Gemm's shape, with the same numbers", async () => {
  const before = momentumStep();
  const after = cloneGraph(before);
  assert.equal(stateInUpdateLayout(after), 1);
  assert.deepEqual(verifyGraph(after), []);
  const v = after.inputs.find((i) => i.name === "opt:momentum:W")!;
  assert.deepEqual(v.type.shape, [2, 12]);
  assert.deepEqual(after.outputs.find((o) => o.name === "next:opt:momentum:W")!.type.shape, [
    2,
    12,
  ]);
  // The Gemm writes the state; the only Reshape left views it for the update.
  const producer = after.nodes.find((n) => n.outputs.includes("next:opt:momentum:W"))!;
  assert.equal(producer.op, "Gemm");
  assert.equal(producer.inputs[2], "opt:momentum:W");
  assert.deepEqual(after.nodes.map((n) => n.op), ["Gemm", "Reshape", "Mul", "Sub"]);
  // W stays as it was: parameters keep their shapes.
  assert.deepEqual(after.inputs.find((i) => i.name === "W")!.type.shape, [2, 3, 2, 2]);

  const feeds: Record<string, Tensor> = {
    W: tensor("f32", [2, 3, 2, 2], values(24, 1)),
    "opt:momentum:W": tensor("f32", [2, 3, 2, 2], values(24, 2)),
    dy: tensor("f32", [2, 5], values(10, 3)),
    cols: tensor("f32", [12, 5], values(60, 4)),
  };
  const viewed = { ...feeds, "opt:momentum:W": { ...feeds["opt:momentum:W"], shape: [2, 12] } };
  const want = runGraph(before, feeds).outputs;
  const got = runGraph(after, viewed).outputs;
  for (const k of Object.keys(want)) assert.deepEqual([...got[k].data], [...want[k].data], k);
  // onnxruntime's Gemm sums in its own order: before and after, both in onnxruntime.
  const [s0, s1] = [
    await createSession(emitModel(before).model, { backend: "node" }),
    await createSession(emitModel(after).model, { backend: "node" }),
  ];
  try {
    const [o0, o1] = [await s0.run(feeds), await s1.run(viewed)];
    for (const k of Object.keys(o0)) assert.deepEqual([...o1[k].data], [...o0[k].data], k);
    assert.deepEqual(o1["next:opt:momentum:W"].shape, [2, 12]);
  } finally {
    await s0.release();
    await s1.release();
  }
});

Deno.test("momentum written through an Unsqueeze or an Identity is written by its Gemm, with the same numbers", () => {
  for (const view of ["Unsqueeze", "Identity"] as const) {
    const before = momentumStep(view);
    const after = cloneGraph(before);
    assert.equal(stateInUpdateLayout(after), 1, view);
    assert.deepEqual(verifyGraph(after), [], view);
    assert.deepEqual(after.inputs.find((i) => i.name === "opt:momentum:W")!.type.shape, [2, 12]);
    const producer = after.nodes.find((n) => n.outputs.includes("next:opt:momentum:W"))!;
    assert.equal(producer.op, "Gemm", view);
    // No view left on the input side; the update reads a view of the state (none for Identity).
    assert.equal(producer.inputs[2], "opt:momentum:W", view);
    const expected = view === "Identity"
      ? ["Gemm", "Mul", "Sub"]
      : ["Gemm", "Reshape", "Mul", "Sub"];
    assert.deepEqual(after.nodes.map((n) => n.op), expected, view);
    const shape = view === "Identity" ? [2, 12] : [2, 12, 1];
    const feeds: Record<string, Tensor> = {
      W: tensor("f32", shape, values(24, 1)),
      "opt:momentum:W": tensor("f32", shape, values(24, 2)),
      dy: tensor("f32", [2, 5], values(10, 3)),
      cols: tensor("f32", [12, 5], values(60, 4)),
    };
    const viewed = { ...feeds, "opt:momentum:W": { ...feeds["opt:momentum:W"], shape: [2, 12] } };
    const want = runGraph(before, feeds).outputs;
    const got = runGraph(after, viewed).outputs;
    for (const k of Object.keys(want)) assert.deepEqual([...got[k].data], [...want[k].data], k);
  }
});

Deno.test("state a Reshape writes is left alone unless it is optimiser state made by a compute node", () => {
  // A parameter's own next value keeps its shape, even when a Reshape writes it.
  const g = momentumStep();
  g.outputs = g.outputs.map((o) => o.name === "next:opt:momentum:W" ? { ...o, name: "next:W" } : o)
    .filter((o, i, all) => all.findIndex((x) => x.name === o.name) === i);
  const r = g.nodes.find((n) => n.op === "Reshape" && n.outputs[0] === "next:opt:momentum:W")!;
  r.outputs = ["next:W"];
  g.types.set("next:W", g.types.get("next:opt:momentum:W")!);
  g.nodes = g.nodes.filter((n) => n.op !== "Sub" && n.op !== "Mul");
  assert.equal(stateInUpdateLayout(g), 0);
  // Optimiser state that is a Reshape of another input (no node computes it) stays too.
  const h = momentumStep();
  const r2 = h.nodes.find((n) => n.outputs[0] === "next:opt:momentum:W")!;
  r2.inputs = ["dy", r2.inputs[1]];
  h.types.set("dy", { dtype: "f32", shape: [2, 12] });
  h.inputs.find((i) => i.name === "dy")!.type = { dtype: "f32", shape: [2, 12] };
  assert.equal(stateInUpdateLayout(h), 0);
});

// Convolutions whose weight gradients are Gemms: one on a 4x4 map (im2col's columns), one on a
// 1x1 map (its live tap picked by trim_conv_taps), and a linear layer (a Gemm already).
const SOURCE = `model Tiny {
  input image: f32[N, 16, 4, 4]
  output logits: f32[N, 5] = image
    |> c1: conv2d(8, kernel: 3, pad: 1, bias: false) |> relu
    |> max_pool(4)
    |> c2: conv2d(6, kernel: 3, pad: 1, bias: false) |> relu
    |> flatten |> fc: linear(5)
}
train Tiny {
  input label: i64[N]
  loss = cross_entropy(logits, label)
  optimizer = sgd(lr: 0.1, momentum: 0.9)
  batch_size = 4
}`;

function compileTiny(paramShapedState: boolean): Graph {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/tiny.dlm`, SOURCE);
  const c = compileTrain(`${dir}/tiny.dlm`, { seed: 3, paramShapedState });
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  return c.step!;
}

Deno.test("a convolution's momentum is the Gemm's output, and 3 steps equal those of the param-shaped step bit for bit", async () => {
  const plain = compileTiny(true), laid = compileTiny(false);
  const producer = (g: Graph, v: string) => g.nodes.find((n) => n.outputs.includes(v));
  // Before: the conv momenta are Reshapes of Gemms; after, no optimiser state goes through a view.
  const reshaped = (g: Graph) =>
    g.outputs.filter((o) =>
      parseOptSlot(fedInput(o.name) ?? "") && producer(g, o.name)?.op === "Reshape"
    )
      .map((o) => o.name).sort();
  assert.deepEqual(reshaped(plain), ["next:opt:momentum:c1.weight", "next:opt:momentum:c2.weight"]);
  assert.deepEqual(reshaped(laid), []);
  assert.deepEqual(laid.inputs.find((i) => i.name === "opt:momentum:c1.weight")!.type.shape, [
    8,
    144,
  ]);
  assert.deepEqual(laid.inputs.find((i) => i.name === "opt:momentum:c2.weight")!.type.shape, [
    48,
    9,
  ]);
  assert.equal(laid.nodes.length, plain.nodes.length - 2);
  // The removed views' shapes go too: onnxruntime warns of every unused initializer at each load.
  const read = new Set(laid.nodes.flatMap((n) => n.inputs));
  const inputs = new Set(laid.inputs.map((i) => i.name));
  assert.deepEqual([...laid.initializers.keys()].filter((k) => !read.has(k) && !inputs.has(k)), []);

  const batch = prepareInputs(
    { ...plain, inputs: plain.inputs.filter((i) => i.name === "image") },
    { seed: 5, dims: { N: 4 } },
  );
  batch.label = tensor("i64", [4], [0, 3, 1, 4]);
  for (const backend of ["reference", "node"] as const) {
    const results = [];
    for (const g of [plain, laid]) {
      const m = loadModel(g, "step model");
      const names = stateInputs(m.outputNames);
      let state = initialState(m);
      const s = backend === "node" ? await createSession(m.bytes, { backend }) : undefined;
      const losses: number[] = [];
      try {
        for (let k = 0; k < 3; k++) {
          const feeds = { ...Object.fromEntries(state), ...batch };
          const out = s ? await s.run(feeds) : runGraph(m.graph, feeds).outputs;
          losses.push(out.loss.data[0] as number);
          // The next step is fed from the param-shaped state, as checkpoints hold it.
          const next = new Map(names.map((n) => [n, out[nextName(n)]]));
          state = initialState(m, stateInParamShapes(m, next));
        }
      } finally {
        await s?.release();
      }
      results.push({ losses, state: stateInParamShapes(m, state) });
    }
    const [a, b] = results;
    assert.deepEqual(b.losses, a.losses, backend);
    assert.deepEqual([...b.state.keys()].sort(), [...a.state.keys()].sort());
    for (const [k, t] of a.state) {
      assert.deepEqual(b.state.get(k)!.shape, t.shape, `${backend} ${k}`);
      assert.deepEqual([...b.state.get(k)!.data], [...t.data], `${backend} ${k}`);
    }
  }
});

Deno.test("checkpoints hold a convolution's momentum in its weight's shape, and a run resumed from one equals the uninterrupted run", async () => {
  const step = multiStep(compileTiny(false));
  const n = 24;
  const data = new Dataset({
    image: tensor("f32", [n, 16, 4, 4], values(n * 256, 9)),
    label: tensor("i64", [n], Array.from({ length: n }, (_, i) => i % 5)),
  });
  const dir = Deno.makeTempDirSync();
  const opts = { step, data, batchSize: 4, seed: 2, backend: "node" as const, stepsPerRun: 3 };
  const full = await train({ ...opts, epochs: 2 });
  await train({ ...opts, epochs: 1, outDir: dir });
  const ck = loadCheckpoint(`${dir}/checkpoint.safetensors`);
  assert.deepEqual(ck.state.get("opt:momentum:c1.weight")!.shape, [8, 16, 3, 3]);
  assert.deepEqual(ck.state.get("opt:momentum:c2.weight")!.shape, [6, 8, 3, 3]);
  assert.deepEqual(full.state.get("opt:momentum:c2.weight")!.shape, [6, 8, 3, 3]);
  const resumed = await train({ ...opts, epochs: 2, resume: ck });
  assert.deepEqual(resumed.losses, full.losses);
  for (const [k, t] of full.state) {
    assert.deepEqual([...resumed.state.get(k)!.data], [...t.data], k);
  }
});
