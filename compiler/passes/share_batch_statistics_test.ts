import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import type { Graph, Span } from "../ir/graph.ts";
import { shareBatchStatistics } from "./share_batch_statistics.ts";
import { applyPass, assertSameOutputs, ops, randomFeeds, randomTensor, seeded } from "./testing.ts";

const span: Span = { file: "m.dlm", line: 3, col: 7, endLine: 3, endCol: 30 };

/**
 * x [2, 3, 4, 4] -> bn (training_mode 1) -> Relu -> y, with the running
 * statistics' next values as graph outputs, as a training step has them.
 */
function trainModeBn(attrs: Record<string, number> = { training_mode: 1, momentum: 0.8 }): Graph {
  const b = new GraphBuilder("step");
  const rand = seeded(3);
  const p = (name: string, lo: number, hi: number) =>
    b.initializer(name, randomTensor("f32", [3], rand, lo, hi));
  const x = b.input("x", { dtype: "f32", shape: [2, 3, 4, 4] });
  const inputs = [
    x,
    p("bn.weight", 0.5, 1.5),
    p("bn.bias", -1, 1),
    p("bn.running_mean", -1, 1),
    p("bn.running_var", 0.5, 2),
  ];
  const training = attrs.training_mode === 1;
  const outs = training ? ["bn_y", "next_mean", "next_var"] : ["bn_y"];
  b.addNode("BatchNormalization", inputs, attrs, { name: "bn", outputs: outs, spans: [span] });
  const [y] = b.addNode("Relu", ["bn_y"], {}, { outputs: ["y"] });
  b.output(y);
  if (training) {
    b.output("next_mean");
    b.output("next_var");
  }
  return b.graph;
}

Deno.test("shareBatchStatistics() turns a train-mode batch norm into plain statistics and an inference-mode node reading them", () => {
  const { graph, changed, run } = applyPass(trainModeBn(), shareBatchStatistics, {
    mode: "train",
    keepParams: true,
  });
  assert.ok(changed);
  assert.deepEqual(ops(graph), [
    "ReduceMean",
    "Sub",
    "Mul",
    "ReduceMean",
    "Reshape",
    "BatchNormalization",
    "Mul",
    "Mul",
    "Add",
    "Mul",
    "Mul",
    "Add",
    "Relu",
  ]);
  const bn = graph.nodes[5];
  assert.deepEqual(bn.attrs, { epsilon: 1e-5 });
  assert.deepEqual(bn.outputs, ["bn_y"]);
  // x itself with the batch's mean, the keepdims mean reshaped to [C], and the variance
  // ReduceMean(xc * xc) of shape [C].
  const [x, , , mean, variance] = bn.inputs;
  assert.equal(x, "x");
  const xc = graph.nodes[1].outputs[0];
  assert.deepEqual(graph.nodes[2].inputs, [xc, xc]);
  assert.equal(mean, graph.nodes[4].outputs[0]);
  assert.equal(graph.nodes[4].inputs[0], graph.nodes[0].outputs[0]);
  assert.deepEqual(graph.types.get(mean)!.shape, [3]);
  assert.equal(variance, graph.nodes[3].outputs[0]);
  assert.deepEqual(graph.nodes[0].attrs, { axes: [0, 2, 3], keepdims: 1 });
  assert.deepEqual(graph.nodes[3].attrs, { axes: [0, 2, 3], keepdims: 0 });
  // The updates keep the names the node's outputs had, and every new node its name and span.
  assert.deepEqual(graph.nodes[8].outputs, ["next_mean"]);
  assert.deepEqual(graph.nodes[11].outputs, ["next_var"]);
  assert.equal(graph.nodes[0].name, "bn/reducemean");
  assert.ok(graph.nodes.slice(0, 12).every((n) => n.name.startsWith("bn/") || n.name === "bn"));
  assert.ok(graph.nodes.slice(0, 12).every((n) => n.spans?.[0] === span));
  assert.equal(run.fired, 1);
  assert.deepEqual(run.rewrites[0].nodes, ["bn"]);
  assert.deepEqual(run.rewrites[0].spans, [span]);
});

Deno.test("shareBatchStatistics() gives the train-mode node's output and running statistics", () => {
  const before = trainModeBn();
  const { graph } = applyPass(before, shareBatchStatistics, { mode: "train", keepParams: true });
  // y, next_mean and next_var: momentum 0.8 weighs the running value, as ONNX defines it.
  assertSameOutputs(before, graph, randomFeeds(before, 7), { atol: 1e-5 });
});

Deno.test("shareBatchStatistics() leaves eval graphs and inference-mode batch norms alone", () => {
  assert.equal(applyPass(trainModeBn(), shareBatchStatistics, { mode: "eval" }).changed, false);
  const inference = trainModeBn({ epsilon: 1e-3 });
  const r = applyPass(inference, shareBatchStatistics, { mode: "train", keepParams: true });
  assert.equal(r.changed, false);
  assert.deepEqual(ops(r.graph), ["BatchNormalization", "Relu"]);
});
