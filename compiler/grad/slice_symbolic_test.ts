/**
 * The gradient of Slice along a symbolic axis (the batch N), which the one-node `gradCheck`
 * cannot express (its inputs have concrete shapes): a graph over x: f32[N, 3] slices the batch as
 * a loss does (`y[1:] - y[:-1]`, `y[:1]`, `y[-2:]`, `y[1:3]`), its backward graph is built with N
 * symbolic, and the gradient is checked against central finite differences at N = 5 (f64).
 */
import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import { cloneGraph } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { buildGradients } from "./autodiff.ts";
import { rand } from "./grad_check.ts";

const HUGE = 2 ** 31 - 1;

function build() {
  const b = new GraphBuilder("slice_symbolic");
  const x = b.input("x", { dtype: "f64", shape: ["N", 3] });
  const i64 = (name: string, xs: number[]) => b.initializer(name, tensor("i64", [xs.length], xs));
  const axis0 = i64("axis0", [0]);
  const slice = (from: number, to: number, tag: string) =>
    b.addNode("Slice", [x, i64(`s_${tag}`, [from]), i64(`e_${tag}`, [to]), axis0])[0];
  const sumOf = (v: string) => b.addNode("ReduceSum", [v], { keepdims: 0 })[0];
  const weighted = (v: string, rows: number, seed: number) => {
    const w = b.initializer(`w${seed}`, rand([rows, 3], { seed }));
    return sumOf(b.addNode("Mul", [v, w])[0]);
  };
  // (y[1:] - y[:-1])^2: constant pads both; y[:1]: N - 1 zeros after; y[-2:]: N - 2 zeros before;
  // y[1:3]: a constant 1 before and N - 3 after.
  const diff = b.addNode("Sub", [slice(1, HUGE, "tail"), slice(0, -1, "head")])[0];
  const terms = [
    sumOf(b.addNode("Mul", [diff, diff])[0]),
    weighted(slice(0, 1, "first"), 1, 11),
    weighted(slice(-2, HUGE, "last2"), 2, 12),
    weighted(b.addNode("Sin", [slice(1, 3, "mid")])[0], 2, 13),
  ];
  let loss = terms[0];
  for (const t of terms.slice(1)) loss = b.addNode("Add", [loss, t])[0];
  b.output(loss, "loss");
  return { b, x };
}

Deno.test("Slice's gradient along a symbolic batch dim matches finite differences", () => {
  const { b, x } = build();
  const forward = cloneGraph(b.graph);
  const grads = buildGradients(b, "loss", [x]);
  const g = grads.get(x)!;
  assert.equal(b.typeOf(g)?.shape.length, 2);
  // Each open slice's zero parts are slices of x, concatenated to g: no constant padding.
  assert.equal(b.graph.nodes.filter((n) => n.op === "Concat").length, 3);
  b.output(g, "grad");
  const xv = rand([5, 3], { seed: 3 });
  const analytic = runGraph(b.graph, { x: xv }).outputs.grad.data as Float64Array;
  const lossAt = (t: typeof xv) => runGraph(forward, { x: t }).outputs.loss.data[0] as number;
  const eps = 1e-6;
  for (let i = 0; i < xv.data.length; i++) {
    const plus = tensor("f64", [5, 3], xv.data as Float64Array);
    const minus = tensor("f64", [5, 3], xv.data as Float64Array);
    (plus.data as Float64Array)[i] += eps;
    (minus.data as Float64Array)[i] -= eps;
    const numeric = (lossAt(plus) - lossAt(minus)) / (2 * eps);
    assert.ok(
      Math.abs(analytic[i] - numeric) <= 1e-6 + 1e-4 * Math.abs(numeric),
      `element ${i}: analytic ${analytic[i]}, numeric ${numeric}`,
    );
  }
});
