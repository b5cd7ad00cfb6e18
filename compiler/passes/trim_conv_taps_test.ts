/**
 * trim_conv_taps: the taps that read only padding are dropped, the outputs
 * stay the same (reference interpreter and onnxruntime), a constant weight
 * is trimmed in place under its name, a parameter through a picking MatMul, and a
 * training step's gradients see the trimmed kernel.
 */
import assert from "node:assert/strict";
import type { AttrValue, Graph } from "../ir/graph.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { emitModel } from "../onnx/emit.ts";
import { createNodeSession } from "../../runtime/ort/node.ts";
import { compileTrain } from "../train/mod.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds, randomTensor, seeded } from "./testing.ts";
import { liveTaps, trimConvTaps } from "./trim_conv_taps.ts";

/** y = Conv(x, w) with w an initializer (constant) or an input (a parameter fed at run time). */
function conv(
  x: number[],
  w: number[],
  attrs: Record<string, AttrValue>,
  weight: "constant" | "input" = "constant",
): Graph {
  const b = new GraphBuilder("conv");
  const xv = b.input("x", { dtype: "f32", shape: x });
  const wv = weight === "constant"
    ? b.initializer("w", randomTensor("f32", w, seeded(3)))
    : b.input("w", { dtype: "f32", shape: w });
  const [y] = b.addNode("Conv", [xv, wv], attrs);
  b.output(y, "y");
  return b.graph;
}

const kernelOf = (g: Graph) => g.types.get(g.nodes.find((n) => n.op === "Conv")!.inputs[1])!.shape;

Deno.test("a 3x3 convolution padded by 1 on a 1x1 map becomes a 1x1 convolution of its centre tap", async () => {
  const g = conv([2, 4, 1, 1], [5, 4, 3, 3], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] });
  const r = applyPass(g, trimConvTaps);
  assert.equal(r.changed, true);
  assert.equal(r.run.fired, 1);
  // In place, under the weight's name: no other node.
  assert.deepEqual(ops(r.graph), ["Conv"]);
  assert.deepEqual(r.graph.types.get("w")!.shape, [5, 4, 1, 1]);
  assert.deepEqual(r.graph.initializers.get("w")!.shape, [5, 4, 1, 1]);
  const c = r.graph.nodes[0];
  assert.deepEqual(c.attrs.pads, [0, 0, 0, 0]);
  assert.deepEqual(c.attrs.kernel_shape, [1, 1]);
  const feeds = randomFeeds(g);
  assertSameOutputs(g, r.graph, feeds);
  // onnxruntime agrees with the reference on the trimmed graph.
  const s = await createNodeSession(emitModel(r.graph).model);
  try {
    const before = await createNodeSession(emitModel(g).model);
    const [a, b] = [await before.run(feeds), await s.run(feeds)];
    await before.release();
    const x = a.y.data as Float32Array, y = b.y.data as Float32Array;
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) < 1e-5, `y[${i}]`);
  } finally {
    await s.release();
  }
});

Deno.test("strides, dilation, asymmetric and auto padding keep their outputs after trimming", () => {
  const cases: [number[], number[], Record<string, AttrValue>, number[]][] = [
    // ResNet's stride-2 layer from 2x2 to 1x1: taps 1..2 of 3 on each axis.
    [[1, 3, 2, 2], [4, 3, 3, 3], { pads: [1, 1, 1, 1], strides: [2, 2] }, [4, 3, 2, 2]],
    // Dilated: the outer taps of a 3-tap kernel, dilation 2, read only padding on a 2-wide map.
    [[1, 2, 2, 5], [3, 2, 3, 1], { pads: [2, 0, 2, 0], dilations: [2, 1] }, [3, 2, 1, 1]],
    // Padding on one side only: the first tap of 3 never reaches the map.
    [[2, 2, 1, 6], [3, 2, 3, 3], { pads: [2, 1, 0, 1] }, [3, 2, 1, 3]],
    [[1, 2, 1, 1], [3, 2, 3, 3], { auto_pad: "SAME_UPPER" }, [3, 2, 1, 1]],
    // 1-D.
    [[2, 3, 1], [4, 3, 5], { pads: [2, 2] }, [4, 3, 1]],
  ];
  for (const [x, w, attrs, kernel] of cases) {
    const g = conv(x, w, attrs);
    const r = applyPass(g, trimConvTaps);
    assert.equal(r.changed, true, JSON.stringify(attrs));
    assert.deepEqual(kernelOf(r.graph), kernel, JSON.stringify(attrs));
    assertSameOutputs(g, r.graph, randomFeeds(g));
  }
});

Deno.test("a weight read elsewhere or fed at run time has its live taps picked by a MatMul", () => {
  const fed = conv([2, 4, 1, 1], [5, 4, 3, 3], { pads: [1, 1, 1, 1] }, "input");
  const r = applyPass(fed, trimConvTaps);
  assert.deepEqual(ops(r.graph), ["Reshape", "MatMul", "Reshape", "Conv"]);
  assert.deepEqual(kernelOf(r.graph), [5, 4, 1, 1]);
  assert.deepEqual(r.graph.inputs.find((i) => i.name === "w")!.type.shape, [5, 4, 3, 3]);
  assertSameOutputs(fed, r.graph, randomFeeds(fed));
  // A constant weight that another node reads too keeps its shape.
  const shared = conv([2, 4, 1, 1], [5, 4, 3, 3], { pads: [1, 1, 1, 1] });
  const b = new GraphBuilder(shared);
  b.output(b.addNode("Neg", ["w"])[0], "neg");
  const s = applyPass(shared, trimConvTaps);
  assert.deepEqual(ops(s.graph), ["Reshape", "MatMul", "Reshape", "Conv", "Neg"]);
  assert.deepEqual(s.graph.initializers.get("w")!.shape, [5, 4, 3, 3]);
  assertSameOutputs(shared, s.graph, randomFeeds(shared));
});

Deno.test("convolutions whose every tap reads the map, or whose maps are symbolic, are left alone", () => {
  for (
    const g of [
      conv([1, 2, 4, 4], [3, 2, 3, 3], { pads: [1, 1, 1, 1] }),
      conv([1, 2, 2, 2], [3, 2, 3, 3], { pads: [1, 1, 1, 1] }),
      conv([1, 2, 5, 5], [3, 2, 3, 3], {}),
    ]
  ) {
    assert.equal(applyPass(g, trimConvTaps).changed, false);
  }
  const b = new GraphBuilder("symbolic");
  const x = b.input("x", { dtype: "f32", shape: ["N", 2, "H", "W"] });
  const w = b.initializer("w", randomTensor("f32", [3, 2, 3, 3], seeded(1)));
  b.output(b.addNode("Conv", [x, w], { pads: [1, 1, 1, 1] })[0], "y");
  assert.equal(applyPass(b.graph, trimConvTaps).changed, false);
  // A weight of symbolic channels fed at run time: no picking matrix, the Conv unchanged.
  const s = new GraphBuilder("symbolic_weight");
  const xs = s.input("x", { dtype: "f32", shape: [1, 2, 1, 1] });
  const ws = s.input("w", { dtype: "f32", shape: ["M", 2, 3, 3] });
  s.output(s.addNode("Conv", [xs, ws], { pads: [1, 1, 1, 1] })[0], "y");
  const r = applyPass(s.graph, trimConvTaps);
  assert.equal(r.changed, false);
  assert.deepEqual(r.graph.nodes[0].attrs.pads, [1, 1, 1, 1]);
});

Deno.test("a training step differentiates the trimmed convolution and updates the whole weight", () => {
  const src = `model M {
  input x: f32[N, 8, 1, 1]
  output y: f32[N, 8, 1, 1] = x |> c: conv2d(8, kernel: 3, pad: 1)
}
train M { loss = reduce_mean(y * y)  optimizer = sgd(lr: 0.1) }`;
  const c = compileTrain("m.dlm", { read: () => src });
  const step = c.step!;
  // The forward reads the centre tap (a one-tap convolution on a 1x1 map, which pointwise_gemm
  // makes a Gemm by the [8, 8] matrix of those taps); the weight, its gradient and its update
  // keep [8, 8, 3, 3].
  assert.ok(!step.nodes.some((n) => n.op === "Conv"));
  const byTaps = step.nodes.filter((n) =>
    n.op === "Gemm" && n.inputs.some((i) => step.types.get(i)!.shape.join() === "8,8")
  );
  assert.equal(byTaps.length, 1, "the forward");
  // The weight gradient: the centre taps' [8, 8], a Gemm of the output gradient and x.
  assert.ok(
    step.nodes.some((n) => n.op === "Gemm" && step.types.get(n.outputs[0])!.shape.join() === "8,8"),
  );
  assert.deepEqual(step.inputs.find((i) => i.name === "c.weight")!.type.shape, [8, 8, 3, 3]);
  assert.deepEqual(step.outputs.find((o) => o.name === "next:c.weight")!.type.shape, [8, 8, 3, 3]);
  assert.ok(!step.nodes.some((n) => n.op === "ConvTranspose"));
});

Deno.test("liveTaps() finds the taps a search over every output position finds, in constant time", () => {
  const search = (h: number, o: number, k: number, s: number, d: number, pb: number) => {
    const live = (j: number) => {
      for (let p = 0; p < o; p++) {
        const at = p * s + j * d - pb;
        if (at >= 0 && at < h) return true;
      }
      return false;
    };
    let a = 0, b = k - 1;
    while (a <= b && !live(a)) a++;
    while (b >= a && !live(b)) b--;
    return a > b ? undefined : [a, b];
  };
  let seed = 3;
  const r = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let t = 0; t < 20_000; t++) {
    const h = 1 + r(6), k = 1 + r(5), s = 1 + r(3), d = 1 + r(3), pb = r(6), pe = r(6);
    const o = Math.floor((h + pb + pe - (k - 1) * d - 1) / s) + 1;
    if (o < 1) continue;
    assert.deepEqual(
      liveTaps(h, o, k, s, d, pb),
      search(h, o, k, s, d, pb),
      `${[h, o, k, s, d, pb]}`,
    );
  }
  // A pad of 1e11 makes 2e11 output positions: the search never finished.
  const t0 = performance.now();
  assert.deepEqual(liveTaps(32, 2e11 + 30, 3, 1, 1, 1e11), [0, 2]);
  assert.ok(performance.now() - t0 < 100);
});
