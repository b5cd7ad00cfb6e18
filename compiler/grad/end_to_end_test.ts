/**
 * Whole networks: the gradients of an MLP (Gemm-Relu-Gemm, LogSoftmax, NLL
 * through GatherElements and a mean) and of a small conv net
 * (Conv-Relu-MaxPool-Flatten-Gemm) match finite differences in f64 on the
 * reference interpreter, and the backward graph (f32) runs in
 * onnxruntime-node with the reference's results.
 */
import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import { cloneGraph } from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { emitModel } from "../onnx/emit.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { createSession } from "../../runtime/ort/mod.ts";
import { buildGradients } from "./autodiff.ts";
import { rand } from "./grad_check.ts";

type Net = { b: GraphBuilder; params: Record<string, Tensor>; feeds: Record<string, Tensor> };

/** loss = mean_n -log_softmax(logits)[n, label[n]]. */
function nll(b: GraphBuilder, logits: string, label: string): string {
  const logp = b.addNode("LogSoftmax", [logits], { axis: 1 })[0];
  const axes = b.initializer("axes1", tensor("i64", [1], [1]));
  const idx = b.addNode("Unsqueeze", [label, axes])[0];
  const picked = b.addNode("GatherElements", [logp, idx], { axis: 1 })[0];
  const mean = b.addNode("ReduceMean", [picked], { keepdims: 0 })[0];
  return b.addNode("Neg", [mean])[0];
}

function mlp(dtype: "f32" | "f64"): Net {
  const b = new GraphBuilder("mlp");
  const params = {
    "fc1.weight": rand([5, 4], { dtype, seed: 1 }),
    "fc1.bias": rand([5], { dtype, seed: 2 }),
    "fc2.weight": rand([3, 5], { dtype, seed: 3 }),
    "fc2.bias": rand([3], { dtype, seed: 4 }),
  };
  for (const [k, t] of Object.entries(params)) b.input(k, { dtype, shape: [...t.shape] });
  const x = b.input("image", { dtype, shape: [6, 4] });
  const label = b.input("label", { dtype: "i64", shape: [6] });
  const h = b.addNode("Gemm", [x, "fc1.weight", "fc1.bias"], { transB: 1 })[0];
  const r = b.addNode("Relu", [h])[0];
  const logits = b.addNode("Gemm", [r, "fc2.weight", "fc2.bias"], { transB: 1 })[0];
  b.output(nll(b, logits, label), "loss");
  const feeds = {
    image: rand([6, 4], { dtype, seed: 5 }),
    label: tensor("i64", [6], [0, 1, 2, 2, 1, 0]),
  };
  return { b, params, feeds };
}

function convNet(dtype: "f32" | "f64"): Net {
  const b = new GraphBuilder("convnet");
  const params = {
    "conv.weight": rand([3, 1, 3, 3], { dtype, seed: 1 }),
    "conv.bias": rand([3], { dtype, seed: 2 }),
    "fc.weight": rand([4, 27], { dtype, seed: 3 }),
    "fc.bias": rand([4], { dtype, seed: 4 }),
  };
  for (const [k, t] of Object.entries(params)) b.input(k, { dtype, shape: [...t.shape] });
  const x = b.input("image", { dtype, shape: [2, 1, 8, 8] });
  const label = b.input("label", { dtype: "i64", shape: [2] });
  const c = b.addNode("Conv", [x, "conv.weight", "conv.bias"], { pads: [1, 1, 1, 1] })[0];
  const r = b.addNode("Relu", [c])[0];
  const p = b.addNode("MaxPool", [r], { kernel_shape: [3, 3], strides: [2, 2] })[0];
  const f = b.addNode("Flatten", [p], { axis: 1 })[0];
  const logits = b.addNode("Gemm", [f, "fc.weight", "fc.bias"], { transB: 1 })[0];
  b.output(nll(b, logits, label), "loss");
  const feeds = {
    image: rand([2, 1, 8, 8], { dtype, seed: 5 }),
    label: tensor("i64", [2], [3, 1]),
  };
  return { b, params, feeds };
}

/** Append the backward graph; outputs `grad:<param>`. Returns the forward graph alone too. */
function withGradients(net: Net) {
  const forward = cloneGraph(net.b.graph);
  const names = Object.keys(net.params);
  const grads = buildGradients(net.b, "loss", names);
  for (const k of names) net.b.output(grads.get(k)!, `grad:${k}`);
  return { forward, full: net.b.graph, feeds: { ...net.params, ...net.feeds } };
}

for (const [name, make] of [["MLP", mlp], ["conv net", convNet]] as const) {
  Deno.test(`the gradients of a ${name} match finite differences in every parameter`, () => {
    const net = make("f64");
    const { forward, full, feeds } = withGradients(net);
    const { outputs } = runGraph(full, feeds);
    const eps = 1e-6;
    for (const [k, p] of Object.entries(net.params)) {
      const g = outputs[`grad:${k}`];
      assert.deepEqual(g.shape, p.shape);
      for (let e = 0; e < p.data.length; e++) {
        const at = (d: number) => {
          const data = (p.data as Float64Array).slice();
          data[e] += d;
          return runGraph(forward, { ...feeds, [k]: { ...p, data } }).outputs.loss
            .data[0] as number;
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        const a = g.data[e] as number;
        assert.ok(
          Math.abs(a - numeric) <= 1e-6 + 1e-4 * Math.abs(numeric),
          `${k}[${e}]: ${a} by autodiff, ${numeric} by finite differences`,
        );
      }
    }
  });

  Deno.test(`the backward graph of a ${name} runs in onnxruntime-node and agrees with the reference`, async () => {
    const { full, feeds } = withGradients(make("f32"));
    const expected = runGraph(full, feeds).outputs;
    const session = await createSession(emitModel(full).model);
    try {
      const got = await session.run(feeds);
      for (const [k, want] of Object.entries(expected)) {
        const have = got[k];
        assert.deepEqual(have.shape, want.shape, k);
        for (let e = 0; e < want.data.length; e++) {
          const [a, w] = [have.data[e] as number, want.data[e] as number];
          assert.ok(
            Math.abs(a - w) <= 1e-5 + 1e-4 * Math.abs(w),
            `${k}[${e}]: onnxruntime ${a}, reference ${w}`,
          );
        }
      }
    } finally {
      await session.release();
    }
  });
}
