import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import { cloneGraph, type Graph, type Span, type TensorType } from "../ir/graph.ts";
import { DlmError } from "../diagnostics.ts";
import {
  formatPassReport,
  newPassReport,
  type PassContext,
  passName,
  runPasses,
} from "./manager.ts";
import { inferencePipeline } from "./pipelines.ts";
import { foldBatchNorm } from "./fold_batch_norm.ts";
import { assertSameOutputs, ops, randomFeeds, randomTensor, seeded } from "./testing.ts";

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: "f32", shape });
const span = (line: number): Span => ({ file: "net.dlm", line, col: 5, endLine: line, endCol: 20 });

/** A small classifier as an importer might produce it, with everything the passes clean up. */
function classifier(): Graph {
  const b = new GraphBuilder("classifier");
  const rand = seeded(42);
  const init = (name: string, shape: number[], lo = -1, hi = 1) =>
    b.initializer(name, randomTensor("f32", shape, rand, lo, hi));
  const x = b.input("x", f32("N", 3, 6, 6));
  const [c] = b.addNode("Conv", [x, init("conv1.weight", [4, 3, 3, 3])], { pads: [1, 1, 1, 1] }, {
    name: "conv1",
    spans: [span(2)],
  });
  const [id] = b.addNode("Identity", [c]);
  const [bn] = b.addNode(
    "BatchNormalization",
    [
      id,
      init("bn1.weight", [4], 0.5, 1.5),
      init("bn1.bias", [4]),
      init("bn1.running_mean", [4]),
      init("bn1.running_var", [4], 0.5, 2),
    ],
    {},
    { name: "bn1", spans: [span(3)] },
  );
  const [r] = b.addNode("Relu", [bn], {}, { spans: [span(4)] });
  const [p] = b.addNode("GlobalAveragePool", [r]);
  const [f] = b.addNode("Flatten", [p]);
  const [d] = b.addNode("Dropout", [f], {}, { nOutputs: 1, spans: [span(5)] });
  const [t] = b.addNode("Transpose", [init("fc.weight", [10, 4])], { perm: [1, 0] });
  const [m] = b.addNode("MatMul", [d, t], {}, { name: "fc", spans: [span(6)] });
  const [logits] = b.addNode("Add", [m, init("fc.bias", [10])], {}, { outputs: ["logits"] });
  b.addNode("Neg", [x], {}, { name: "unused_branch" });
  b.output(logits);
  b.graph.params.push(
    ...["conv1.weight", "bn1.weight", "bn1.bias", "fc.weight", "fc.bias"].map((name) => ({
      name,
      role: name.endsWith("bias") ? "bias" : "weight",
      trainable: true,
    })),
    ...["bn1.running_mean", "bn1.running_var"].map((name) => ({
      name,
      role: name.slice(4),
      trainable: false,
    })),
  );
  return b.graph;
}

Deno.test("runPasses() runs the inference pipeline to a fixpoint", () => {
  const g = classifier();
  const after = cloneGraph(g);
  const report = newPassReport();
  const changed = runPasses(after, inferencePipeline("eval"), {
    mode: "eval",
    verify: true,
    report,
  });
  assert.ok(changed);
  assert.deepEqual(ops(after), ["Conv", "Relu", "GlobalAveragePool", "Flatten", "Gemm"]);
  assert.deepEqual(after.nodes[0].inputs, ["x", "conv1.weight", "conv1.bias"]);
  assert.deepEqual(after.nodes[0].spans, [span(2), span(3)]);
  assert.equal(after.nodes[4].name, "fc");
  assert.deepEqual(after.nodes[4].outputs, ["logits"]);
  assert.deepEqual(after.nodes[4].inputs, [after.nodes[3].outputs[0], "fc.weight", "fc.bias"]);
  assert.deepEqual(after.nodes[4].attrs, { transB: 1 });
  assert.deepEqual(after.params.map((p) => p.name), [
    "conv1.weight",
    "conv1.bias",
    "fc.weight",
    "fc.bias",
  ]);
  assert.ok(report.converged);
  assert.ok(report.rounds >= 2, "the last round only confirms nothing changes");
  assertSameOutputs(g, after, randomFeeds(g, 3, { N: 2 }));
});

Deno.test("formatPassReport() lists each pass that fired with the source lines it rewrote", () => {
  const report = newPassReport();
  runPasses(cloneGraph(classifier()), inferencePipeline("eval"), { mode: "eval", report });
  const text = formatPassReport(report);
  assert.match(text, /round 1 {2}remove_noops {2}fired 2 {2}nodes 11 -> 9/);
  assert.match(text, /Identity '[^']+'/);
  assert.match(text, /Dropout '[^']+' {2}at net\.dlm:5:5/);
  assert.match(
    text,
    /fold_batch_norm {2}fired 1 .*\n {2}Conv 'conv1' \+ BatchNormalization 'bn1' {2}at net\.dlm:2:5, net\.dlm:3:5/,
  );
  assert.match(text, /fuse_gemm {2}fired 1/);
  assert.match(text, /dce {2}fired 1/);
  assert.match(text, /converged after \d rounds$/);
});

Deno.test("runPasses() in train mode keeps batch norm and dropout", () => {
  const g = classifier();
  const ctx: PassContext = { mode: "train", keepParams: true, verify: true };
  runPasses(g, inferencePipeline("train"), ctx);
  assert.deepEqual(ops(g), [
    "Conv",
    "BatchNormalization",
    "Relu",
    "GlobalAveragePool",
    "Flatten",
    "Dropout",
    "Gemm",
  ]);
  assert.deepEqual(g.nodes[6].inputs, [g.nodes[5].outputs[0], "fc.weight", "fc.bias"]);
  assert.equal(g.params.length, 7, "a training graph keeps every parameter");
});

Deno.test("runPasses() with verify names the pass that broke the graph", () => {
  const breakIt = (g: Graph) => {
    g.nodes[0].inputs[0] = "ghost";
    return true;
  };
  assert.throws(
    () => runPasses(classifier(), [breakIt], { mode: "eval", verify: true }),
    (e: unknown) => {
      assert.ok(e instanceof DlmError);
      assert.equal(e.diagnostics[0].code, "DLM0900");
      assert.match(e.diagnostics[0].message, /after pass 'break_it' \(round 1\)/);
      return true;
    },
  );
});

Deno.test("runPasses() stops at the round limit and says so", () => {
  const churn = () => true;
  const report = newPassReport();
  runPasses(classifier(), [churn], { mode: "eval", maxRounds: 3, report });
  assert.equal(report.rounds, 3);
  assert.equal(report.converged, false);
  assert.match(formatPassReport(report), /stopped after 3 rounds \(limit\)$/);
});

Deno.test("passName() gives a pass the name of its file", () => {
  assert.equal(passName(foldBatchNorm), "fold_batch_norm");
  assert.deepEqual(inferencePipeline("eval").map(passName), [
    "remove_noops",
    "cse",
    "fold_batch_norm",
    "fuse_gemm",
    "trim_conv_taps",
    "fold_constants",
    "dce",
  ]);
  assert.ok(!inferencePipeline("train").includes(foldBatchNorm));
});
