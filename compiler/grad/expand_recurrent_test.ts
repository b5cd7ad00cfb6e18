/**
 * Recurrent layers train through their unrolled form: the unrolled graph
 * computes what the fused RNN/GRU/LSTM node computes (the reference kernels,
 * which pass the ONNX conformance cases), and its gradients match finite
 * differences taken through the fused node.
 */
import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import { cloneGraph } from "../ir/graph.ts";
import { type Tensor, tensor } from "../ir/tensor.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { type GradCase, gradCheck, rand } from "./grad_check.ts";
import { expandRecurrent } from "./expand_recurrent.ts";

const T = 3, N = 2, C = 3, H = 2;
const lens = tensor("i32", [N], [3, 2]);
const rec = (gates: number, dirs: number, seed: number) => [
  rand([T, N, C], { seed }),
  rand([dirs, gates * H, C], { seed: seed + 1, lo: -0.8, hi: 0.8 }),
  rand([dirs, gates * H, H], { seed: seed + 2, lo: -0.8, hi: 0.8 }),
  rand([dirs, 2 * gates * H], { seed: seed + 3, lo: -0.5, hi: 0.5 }),
];

const CASES: GradCase[] = [
  { name: "RNN", op: "RNN", inputs: rec(1, 1, 1), attrs: { hidden_size: H } },
  {
    name: "RNN with Relu, reverse, lengths and an initial state",
    op: "RNN",
    inputs: [...rec(1, 1, 5), lens, rand([1, N, H], { seed: 9 })],
    attrs: { hidden_size: H, direction: "reverse", activations: ["Relu"] },
  },
  { name: "LSTM", op: "LSTM", inputs: rec(4, 1, 11), attrs: { hidden_size: H } },
  {
    name: "bidirectional LSTM with lengths and initial states",
    op: "LSTM",
    inputs: [
      ...rec(4, 2, 21),
      lens,
      rand([2, N, H], { seed: 25 }),
      rand([2, N, H], { seed: 26 }),
    ],
    attrs: { hidden_size: H, direction: "bidirectional" },
  },
  {
    name: "LSTM without bias",
    op: "LSTM",
    inputs: rec(4, 1, 31).slice(0, 3),
    attrs: { hidden_size: H },
  },
  {
    name: "GRU (linear_before_reset, as PyTorch)",
    op: "GRU",
    inputs: [...rec(3, 1, 41), undefined, rand([1, N, H], { seed: 45 })],
    attrs: { hidden_size: H, linear_before_reset: 1 },
  },
  {
    name: "bidirectional GRU (reset before the product) with lengths",
    op: "GRU",
    inputs: [...rec(3, 2, 51), lens],
    attrs: { hidden_size: H, direction: "bidirectional" },
  },
];

for (const c of CASES) {
  Deno.test(`the unrolled ${c.name} computes the fused node's outputs`, () => {
    const b = new GraphBuilder("g");
    const feeds: Record<string, Tensor> = {};
    const names = c.inputs.map((t, i) => {
      if (!t) return "";
      const n = b.input(`in${i}`, { dtype: t.dtype, shape: [...t.shape] });
      feeds[n] = t;
      return n;
    });
    const outs = b.addNode(c.op, names, c.attrs ?? {});
    outs.forEach((o) => b.output(o));
    const fused = runGraph(cloneGraph(b.graph), feeds).outputs;
    assert.equal(expandRecurrent(b), 1);
    assert.ok(b.graph.nodes.every((n) => !["RNN", "GRU", "LSTM"].includes(n.op)));
    const unrolled = runGraph(b.graph, feeds).outputs;
    for (const o of outs) {
      const a = fused[o].data, u = unrolled[o].data;
      assert.deepEqual(unrolled[o].shape, fused[o].shape);
      for (let k = 0; k < a.length; k++) {
        assert.ok(Math.abs((a[k] as number) - (u[k] as number)) < 1e-12, `${o}[${k}]`);
      }
    }
  });
  Deno.test(`backpropagation through time in the ${c.name} matches finite differences`, () => {
    gradCheck(c);
  });
}

Deno.test("training through a recurrent layer of unknown length says what it needs", () => {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: ["T", 2, 3] });
  const w = b.input("w", { dtype: "f32", shape: [1, 2, 3] });
  const r = b.input("r", { dtype: "f32", shape: [1, 2, 2] });
  b.addNode("RNN", [x, w, r], { hidden_size: 2 });
  assert.throws(() => expandRecurrent(b), /known sequence length/);
});
