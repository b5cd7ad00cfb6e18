/**
 * StopGradient: its shape rule, its kernel (the identity), its lowering to
 * ONNX Identity (run in onnxruntime), the backward pass stopping at it, and
 * the passes keeping it until the gradients are built.
 */
import assert from "node:assert/strict";
import type { Graph, TensorType } from "../ir/graph.ts";
import { tensor } from "../ir/tensor.ts";
import { emitModel } from "../onnx/emit.ts";
import { onnx } from "../onnx/proto.ts";
import { buildGradients } from "../grad/mod.ts";
import { removeNoops } from "../passes/mod.ts";
import { applyPass, ops } from "../passes/testing.ts";
import { KERNELS } from "../../runtime/reference/kernels/mod.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { diffGraph } from "../../runtime/diff/diff.ts";
import { GraphBuilder } from "./builder.ts";
import { getOp, lowerNode } from "./mod.ts";
import { DLM_DOMAIN } from "./stop_gradient.ts";

const SG = { domain: DLM_DOMAIN };

Deno.test("StopGradient keeps its input's type, whatever the element type", () => {
  const def = getOp("StopGradient", DLM_DOMAIN)!;
  const types: TensorType[] = [
    { dtype: "f32", shape: ["N", 3] },
    { dtype: "i64", shape: [] },
    { dtype: "bool", shape: [2, "T"] },
  ];
  for (const t of types) {
    assert.deepEqual(def.infer({ inputs: [t], attrs: {}, constant: () => undefined }), [t]);
  }
  assert.throws(
    () => def.infer({ inputs: [undefined], attrs: {}, constant: () => undefined }),
    { name: "ShapeError", message: "StopGradient expects input 'X', found none" },
  );
});

Deno.test("StopGradient's kernel passes its input through unchanged", () => {
  const x = tensor("f32", [2, 2], [1, -2, 3.5, 0]);
  assert.equal(KERNELS["dlm::StopGradient"], KERNELS["Identity"]);
  const b = new GraphBuilder("g");
  const [y] = b.addNode("StopGradient", [b.input("x", { dtype: "f32", shape: [2, 2] })], {}, SG);
  b.output(y, "y");
  assert.deepEqual(runGraph(b.graph, { x }).outputs.y.data, x.data);
});

/** y = StopGradient(Relu(x)). */
function stopped(): Graph {
  const b = new GraphBuilder("g");
  const x = b.input("x", { dtype: "f32", shape: ["N", 3] });
  const [r] = b.addNode("Relu", [x], {}, { name: "relu" });
  const [y] = b.addNode("StopGradient", [r], {}, { ...SG, name: "sg" });
  b.output(y, "y");
  return b.graph;
}

Deno.test("StopGradient is emitted as a standard ONNX Identity that onnxruntime runs", async () => {
  const g = stopped();
  const lowered = lowerNode(g.nodes[1], 17);
  assert.equal(lowered.length, 1);
  const { name, op, domain, inputs, outputs } = lowered[0];
  assert.deepEqual({ name, op, domain, inputs, outputs }, {
    name: "sg",
    op: "Identity",
    domain: undefined,
    inputs: g.nodes[0].outputs,
    outputs: ["y"],
  });
  const m = onnx.ModelProto.decode(emitModel(g).model) as unknown as {
    opsetImport: { domain: string }[];
    graph: { node: { opType: string; domain: string }[] };
  };
  assert.deepEqual(m.graph.node.map((n) => `${n.domain ?? ""}:${n.opType}`), [
    ":Relu",
    ":Identity",
  ]);
  assert.deepEqual(m.opsetImport.map((o) => o.domain), [""]);
  const x = tensor("f32", [2, 3], [1, -2, 3, -4, 5, -6]);
  const r = await diffGraph(g, { x }, { rtol: 0, atol: 0, backend: "node" });
  assert.ok(r.ok, JSON.stringify(r.outputs));
});

Deno.test("no gradient flows through StopGradient: it adds no backward node", () => {
  // L = sum(w * StopGradient(w)): dL/dw = StopGradient(w) = w, not 2w.
  const b = new GraphBuilder("g");
  const w = b.input("w", { dtype: "f64", shape: [3] });
  const [s] = b.addNode("StopGradient", [w], {}, { ...SG, name: "sg" });
  const [p] = b.addNode("Mul", [w, s]);
  b.output(b.addNode("ReduceSum", [p], { keepdims: 0 })[0], "loss");
  const before = b.graph.nodes.length;
  b.output(buildGradients(b, "loss", [w]).get(w)!, "dw");
  const backward = b.graph.nodes.slice(before);
  assert.ok(
    !backward.some((n) => n.inputs.includes(s) && n.op !== "Mul"),
    "reads s only as the factor",
  );
  const { outputs } = runGraph(b.graph, { w: tensor("f64", [3], [1, -2, 0.5]) });
  assert.deepEqual(Array.from(outputs.dw.data as Float64Array), [1, -2, 0.5]);
});

Deno.test("a loss read only through StopGradient gives its parameter a zero gradient", () => {
  const b = new GraphBuilder("g");
  const w = b.input("w", { dtype: "f32", shape: [2] });
  const [s] = b.addNode("StopGradient", [w], {}, SG);
  b.output(b.addNode("ReduceSum", [s], { keepdims: 0 })[0], "loss");
  const before = b.graph.nodes.length;
  b.output(buildGradients(b, "loss", [w]).get(w)!, "dw");
  // No rule ran: the gradient is the explicit zeros of an unreached parameter, not a product.
  assert.ok(b.graph.nodes.slice(before).every((n) => n.op !== "Mul"));
  const { outputs } = runGraph(b.graph, { w: tensor("f32", [2], [3, 4]) });
  assert.deepEqual(Array.from(outputs.dw.data as Float32Array), [0, 0]);
});

Deno.test("remove_noops keeps StopGradient in train mode and drops it in eval mode", () => {
  assert.deepEqual(ops(applyPass(stopped(), removeNoops, { mode: "train" }).graph), [
    "Relu",
    "StopGradient",
  ]);
  const ev = applyPass(stopped(), removeNoops, { mode: "eval" });
  assert.ok(ev.changed);
  assert.deepEqual(ops(ev.graph), ["Relu"]);
  assert.deepEqual(ev.graph.nodes[0].outputs, ["y"], "the graph output keeps its name");
});
