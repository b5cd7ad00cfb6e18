import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import { tensor, toNumbers } from "../ir/tensor.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import { nextName } from "./contract.ts";
import { buildOptimizer, optimizerSlots, resolveGroup } from "./optimizers.ts";

function build(spec: Parameters<typeof buildOptimizer>[1]) {
  const b = new GraphBuilder("step");
  const params = ["fc.weight", "fc.bias", "norm.weight"].map((name) => ({
    name: b.input(name, { dtype: "f32", shape: [2] }),
    grad: b.input(`grad:${name}`, { dtype: "f32", shape: [2] }),
  }));
  const step = b.input("step", { dtype: "i64", shape: [] });
  const lr = b.input("lr", { dtype: "f32", shape: [] });
  const { updates } = buildOptimizer(b, spec, params, step, lr);
  for (const u of updates) b.output(u.output, nextName(u.input));
  return { g: b.graph, updates };
}

Deno.test("Adam declares m and v state inputs per parameter, named by the contract", () => {
  const { g, updates } = build({ kind: "adam" });
  const state = g.inputs.map((v) => v.name).filter((n) => n.startsWith("opt:"));
  assert.deepEqual(state, [
    "opt:m:fc.weight",
    "opt:v:fc.weight",
    "opt:m:fc.bias",
    "opt:v:fc.bias",
    "opt:m:norm.weight",
    "opt:v:norm.weight",
  ]);
  // Parameters come first in the update list.
  assert.deepEqual(updates.slice(0, 3).map((u) => u.input), [
    "fc.weight",
    "fc.bias",
    "norm.weight",
  ]);
  assert.ok(g.nodes.every((n) => !n.domain), "only default-domain ONNX ops");
});

Deno.test("optimizerSlots lists the state each optimiser keeps", () => {
  assert.deepEqual(optimizerSlots({ kind: "sgd" }), []);
  assert.deepEqual(optimizerSlots({ kind: "sgd", momentum: 0.9 }), ["momentum"]);
  assert.deepEqual(optimizerSlots({ kind: "rmsprop", centered: true, momentum: 0.5 }), [
    "square_avg",
    "grad_avg",
    "momentum",
  ]);
  assert.deepEqual(optimizerSlots({ kind: "adagrad" }), ["sum"]);
});

Deno.test("parameter groups select by glob or group name, first match wins", () => {
  const spec = {
    kind: "sgd" as const,
    weightDecay: 0.1,
    groups: [
      { params: "*.bias", overrides: { weightDecay: 0 } },
      { name: "slow", lrScale: 0.5 },
    ],
  };
  assert.deepEqual(resolveGroup(spec, { name: "fc.bias" }), {
    hyper: { kind: "sgd", weightDecay: 0 },
    lrScale: 1,
  });
  assert.deepEqual(resolveGroup(spec, { name: "fc.weight", group: "slow" }).lrScale, 0.5);
  assert.deepEqual(resolveGroup(spec, { name: "fc.weight" }).hyper, {
    kind: "sgd",
    weightDecay: 0.1,
  });
});

Deno.test("SGD with no decay on norms and biases leaves their update at lr g", () => {
  const { g } = build({
    kind: "sgd",
    weightDecay: 0.5,
    groups: [
      { params: "*.bias", overrides: { weightDecay: 0 } },
      { params: "norm.*", overrides: { weightDecay: 0 } },
    ],
  });
  const feeds: Record<string, ReturnType<typeof tensor>> = {
    step: tensor("i64", [], [0]),
    lr: tensor("f32", [], [0.1]),
  };
  for (const p of ["fc.weight", "fc.bias", "norm.weight"]) {
    feeds[p] = tensor("f32", [2], [1, 2]);
    feeds[`grad:${p}`] = tensor("f32", [2], [1, 1]);
  }
  const out = runGraph(g, feeds).outputs;
  // decayed: p - lr (g + 0.5 p); plain: p - lr g.
  assert.deepEqual(toNumbers(out["next:fc.weight"]).map((v) => +v.toFixed(5)), [0.85, 1.8]);
  assert.deepEqual(toNumbers(out["next:fc.bias"]).map((v) => +v.toFixed(5)), [0.9, 1.9]);
  assert.deepEqual(toNumbers(out["next:norm.weight"]).map((v) => +v.toFixed(5)), [0.9, 1.9]);
});
