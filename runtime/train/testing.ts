/**
 * Hand-written training-step models for tests (no autodiff): softmax
 * regression `logits = x W^T + b` with cross-entropy loss, the gradient
 * written out as graph ops, and SGD with momentum. They follow
 * compiler/train/contract.ts, so they exercise the loop exactly as a
 * compiled `train` section will.
 */
import { GraphBuilder } from "../../compiler/ops/builder.ts";
import type { Graph } from "../../compiler/ir/graph.ts";
import { type Tensor, tensor } from "../../compiler/ir/tensor.ts";
import { makeRng } from "../reference/random.ts";
import {
  LOSS_OUTPUT,
  metricName,
  nextName,
  optSlotName,
  STEP_INPUT,
} from "../../compiler/train/contract.ts";

/** Sizes and hyper-parameters of the regression models. */
export interface RegressionConfig {
  features: number;
  classes: number;
  lr: number;
  momentum: number;
}

const W = "fc.weight", B = "fc.bias";

/** Forward pass, loss and accuracy; returns the value names. */
function forward(g: GraphBuilder, c: RegressionConfig) {
  const x = g.input("image", { dtype: "f32", shape: ["N", c.features] });
  const y = g.input("label", { dtype: "i64", shape: ["N"] });
  const w = g.input(W, { dtype: "f32", shape: [c.classes, c.features] });
  const b = g.input(B, { dtype: "f32", shape: [c.classes] });
  const k = (name: string, t: Tensor) => g.initializer(name, t);
  const [logits] = g.addNode("Gemm", [x, w, b], { transB: 1 });
  const [logp] = g.addNode("LogSoftmax", [logits], { axis: 1 });
  const [onehot] = g.addNode("OneHot", [
    y,
    k("depth", tensor("i64", [], [c.classes])),
    k("onehot_values", tensor("f32", [2], [0, 1])),
  ], { axis: -1 });
  // loss = -mean_n sum_k onehot[n,k] log p[n,k]
  const [picked] = g.addNode("Mul", [onehot, logp]);
  const [perSample] = g.addNode("ReduceSum", [picked, k("axis1", tensor("i64", [1], [1]))], {
    keepdims: 0,
  });
  const [mean] = g.addNode("ReduceMean", [perSample], { keepdims: 0 });
  const [loss] = g.addNode("Neg", [mean]);
  const [pred] = g.addNode("ArgMax", [logits], { axis: 1, keepdims: 0 });
  const [hit] = g.addNode("Equal", [pred, y]);
  const [hitF] = g.addNode("Cast", [hit], { to: 1 });
  const [acc] = g.addNode("ReduceMean", [hitF], { keepdims: 0 });
  return { x, w, b, logits, onehot, loss, acc, k };
}

/**
 * The step model: inputs fc.weight, fc.bias, opt:momentum:*, step, image,
 * label; outputs loss, metric:accuracy and next:* for the state.
 * dL/dlogits = (softmax - onehot) / N; dW = dlogits^T x; db = sum_n dlogits;
 * v' = momentum v + g; p' = p - lr v'.
 */
export function regressionStep(c: RegressionConfig): Graph {
  const g = new GraphBuilder("regression_step");
  const f = forward(g, c);
  const step = g.input(STEP_INPUT, { dtype: "i64", shape: [] });
  const vw = g.input(optSlotName("momentum", W), { dtype: "f32", shape: [c.classes, c.features] });
  const vb = g.input(optSlotName("momentum", B), { dtype: "f32", shape: [c.classes] });
  const [p] = g.addNode("Softmax", [f.logits], { axis: 1 });
  const [diff] = g.addNode("Sub", [p, f.onehot]);
  const [shape] = g.addNode("Shape", [f.x]);
  const [n] = g.addNode("Gather", [shape, f.k("zero", tensor("i64", [], [0]))], { axis: 0 });
  const [nf] = g.addNode("Cast", [n], { to: 1 });
  const [dlogits] = g.addNode("Div", [diff, nf]);
  const [gw] = g.addNode("Gemm", [dlogits, f.x], { transA: 1 });
  const [gb] = g.addNode("ReduceSum", [dlogits, f.k("axis0", tensor("i64", [1], [0]))], {
    keepdims: 0,
  });
  const mu = f.k("momentum", tensor("f32", [], [c.momentum]));
  const lr = f.k("lr", tensor("f32", [], [c.lr]));
  const update = (param: string, v: string, grad: string, name: string) => {
    const [mv] = g.addNode("Mul", [v, mu]);
    const [v2] = g.addNode("Add", [mv, grad]);
    const [dv] = g.addNode("Mul", [v2, lr]);
    const [p2] = g.addNode("Sub", [param, dv]);
    g.output(p2, nextName(name));
    g.output(v2, nextName(optSlotName("momentum", name)));
  };
  g.output(f.loss, LOSS_OUTPUT);
  g.output(f.acc, metricName("accuracy"));
  update(f.w, vw, gw, W);
  update(f.b, vb, gb, B);
  const [s2] = g.addNode("Add", [step, f.k("one", tensor("i64", [], [1]))]);
  g.output(s2, nextName(STEP_INPUT));
  return g.graph;
}

/** The evaluation model: parameters and batch in; loss and metric:accuracy out. */
export function regressionEval(c: RegressionConfig): Graph {
  const g = new GraphBuilder("regression_eval");
  const f = forward(g, c);
  g.output(f.loss, LOSS_OUTPUT);
  g.output(f.acc, metricName("accuracy"));
  return g.graph;
}

/** Seeded small random initial weights (uniform in [-0.05, 0.05)) and zero bias. */
export function regressionInit(c: RegressionConfig, seed = 1): Map<string, Tensor> {
  const rng = makeRng(seed);
  const w = Array.from({ length: c.classes * c.features }, () => (rng.uniform() - 0.5) * 0.1);
  return new Map([
    [W, tensor("f32", [c.classes, c.features], w)],
    [B, tensor("f32", [c.classes], new Array(c.classes).fill(0))],
  ]);
}
