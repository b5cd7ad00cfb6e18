/**
 * SiLU, x * sigmoid(x), differentiated whole by Mul's rule (compiler/ops/binary.ts, `siluGrad`):
 * the gradient matches finite differences in f64 in either operand order and with the sigmoid
 * read elsewhere too, takes two nodes fewer than the product's and the sigmoid's rules apart, and
 * those rules still apply where the sigmoid's output is a value whose gradient is asked or that
 * gradients do not flow through.
 */
import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import { cloneGraph } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { buildGradients, type GradientOptions } from "./autodiff.ts";
import { rand } from "./grad_check.ts";

/**
 * loss = sum(w * silu(x)) (+ sum(sigmoid(x)) with `shared`), x an input: the SiLU's product in
 * the given operand order.
 */
function net(order: "x s" | "s x", shared = false) {
  const b = new GraphBuilder("silu");
  const x = b.input("x", { dtype: "f64", shape: [2, 3] });
  const w = b.input("w", { dtype: "f64", shape: [2, 3] });
  const [s] = b.addNode("Sigmoid", [x], {}, { outputs: ["s"] });
  const [y] = b.addNode("Mul", order === "x s" ? [x, s] : [s, x], {}, { outputs: ["y"] });
  const [wy] = b.addNode("Mul", [w, y]);
  let [loss] = b.addNode("ReduceSum", [wy], { keepdims: 0 });
  if (shared) {
    const [other] = b.addNode("ReduceSum", [s], { keepdims: 0 });
    [loss] = b.addNode("Add", [loss, other]);
  }
  b.output(loss, "loss");
  return b;
}

const feeds = {
  x: rand([2, 3], { dtype: "f64", seed: 3 }),
  w: rand([2, 3], { dtype: "f64", seed: 4 }),
};

/** dL/dx by the backward graph, and the nodes the backward added. */
function gradient(b: GraphBuilder, wrt: string[], opts: GradientOptions = {}) {
  const before = b.graph.nodes.length;
  const grads = buildGradients(b, "loss", wrt, opts);
  b.output(grads.get("x")!, "dx");
  const dx = runGraph(b.graph, feeds).outputs.dx;
  return { dx: [...dx.data as Float64Array], nodes: b.graph.nodes.length - before };
}

/** dL/dx by central differences on the forward graph. */
function numeric(b: GraphBuilder): number[] {
  const forward = cloneGraph(b.graph);
  const x = feeds.x as Tensor;
  return [...x.data as Float64Array].map((_, e) => {
    const at = (d: number) => {
      const data = (x.data as Float64Array).slice();
      data[e] += d;
      return runGraph(forward, { ...feeds, x: { ...x, data } }).outputs.loss.data[0] as number;
    };
    return (at(1e-6) - at(-1e-6)) / 2e-6;
  });
}

function close(got: number[], want: number[], what: string) {
  got.forEach((g, i) =>
    assert.ok(
      Math.abs(g - want[i]) <= 1e-8 + 1e-6 * Math.abs(want[i]),
      `${what}[${i}]: ${g}, ${want[i]}`,
    )
  );
}

Deno.test("SiLU's gradient matches finite differences in either order and with the sigmoid read elsewhere", () => {
  for (const order of ["x s", "s x"] as const) {
    for (const shared of [false, true]) {
      const want = numeric(net(order, shared));
      close(gradient(net(order, shared), ["x"]).dx, want, `${order}${shared ? ", shared" : ""}`);
    }
  }
});

Deno.test("SiLU's gradient is two nodes fewer taken whole, and the rules apart where the sigmoid's gradient is asked", () => {
  const whole = gradient(net("x s"), ["x"]);
  // With the sigmoid's output asked for, the product's and the sigmoid's rules apply apart.
  const apart = gradient(net("x s"), ["x", "s"]);
  close(whole.dx, apart.dx, "dx");
  assert.equal(apart.nodes - whole.nodes, 2);
});

Deno.test("SiLU's gradient does not pass through a sigmoid whose output gradients do not flow through", () => {
  // With s a constant to the gradient, dL/dx = w s.
  const b = net("s x");
  const { dx } = gradient(b, ["x"], { stop: new Set(["s"]) });
  const s = (feeds.x.data as Float64Array).map((v) => 1 / (1 + Math.exp(-v)));
  close(dx, [...(feeds.w.data as Float64Array)].map((w, i) => w * s[i]), "dx");
});
