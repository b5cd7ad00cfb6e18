import assert from "node:assert/strict";
import { GraphBuilder } from "../ops/builder.ts";
import * as passes from "./mod.ts";
import { definePass, type Pass } from "./context.ts";
import { formatPassReport, newPassReport, passName, runPasses } from "./manager.ts";
import {
  beforeGradientsPipeline,
  inferencePipeline,
  insertPasses,
  trainStepPipeline,
} from "./pipelines.ts";
import { pipelineFor, TARGET_FUSIONS, TARGETS } from "./targets.ts";

/** Every declared pass the folder exports. */
const declared = Object.values(passes).filter((v): v is Pass =>
  typeof v === "function" && "id" in v
);

Deno.test("every pass is declared under the name of its file, and no two share a name", () => {
  assert.ok(declared.length >= 13, declared.map((p) => p.id).join(", "));
  for (const p of declared) {
    assert.match(p.id, /^[a-z][a-z0-9_]*$/);
    assert.ok(Deno.statSync(new URL(`./${p.id}.ts`, import.meta.url)).isFile, p.id);
  }
  assert.equal(new Set(declared.map((p) => p.id)).size, declared.length);
  for (const p of [...TARGETS.flatMap((t) => TARGET_FUSIONS[t]), ...trainStepPipeline()]) {
    assert.ok(declared.includes(p), `${p.id} is exported from mod.ts`);
  }
});

Deno.test("reports name a pass by its declaration, not by its function's name", () => {
  const g = new GraphBuilder("g").graph;
  const p = definePass({ id: "declared_name" }, function somethingElse() {
    return false;
  });
  const report = newPassReport();
  runPasses(g, [p], { mode: "eval", report });
  assert.equal(passName(p), "declared_name");
  assert.equal(report.runs[0].pass, "declared_name");
  assert.match(formatPassReport(report), /no pass changed the graph/);
});

Deno.test("a pass declared for one mode changes nothing in the other, and pipelines leave it out", () => {
  let calls = 0;
  const evalOnly = definePass({ id: "eval_only", modes: ["eval"] }, () => {
    calls++;
    return true;
  });
  const g = new GraphBuilder("g").graph;
  assert.equal(evalOnly(g, { mode: "train" }), false);
  assert.equal(calls, 0);
  assert.equal(evalOnly(g, { mode: "eval" }), true);
  assert.deepEqual(inferencePipeline("train").map(passName), [
    "remove_noops",
    "cse",
    "fuse_gemm",
    "trim_conv_taps",
    "fold_constants",
    "dce",
  ]);
});

Deno.test("insertPasses() inserts before a pass by name, and an unknown name is an error", () => {
  const base = inferencePipeline("eval");
  const [fuse] = TARGET_FUSIONS.onnx;
  const out = insertPasses(base, [fuse], { before: "fold_constants" });
  assert.deepEqual(out.map(passName), [
    "remove_noops",
    "cse",
    "fold_batch_norm",
    "fuse_gemm",
    "trim_conv_taps",
    "fuse_layer_norm",
    "fold_constants",
    "dce",
  ]);
  assert.equal(base.length, 7, "the pipeline given is not changed");
  assert.throws(() => insertPasses(base, [fuse], { before: "fold_constant" }), /fold_constant/);
});

Deno.test("pipelineFor() puts each target's fusions just before fold_constants", () => {
  assert.deepEqual(pipelineFor("ort", "eval").map(passName), [
    "remove_noops",
    "cse",
    "fold_batch_norm",
    "fuse_gemm",
    "trim_conv_taps",
    "fuse_layer_norm",
    "fuse_skip_layer_norm",
    "fuse_gelu",
    "fuse_bias_gelu",
    "fuse_attention",
    "fold_constants",
    "dce",
  ]);
  assert.deepEqual(
    pipelineFor("onnx", "train").map(passName),
    [
      "remove_noops",
      "cse",
      "fuse_gemm",
      "trim_conv_taps",
      "fuse_layer_norm",
      "fold_constants",
      "dce",
    ],
  );
});

Deno.test("a training step trims convolutions before its gradients (and makes a 1x1 one on 1x1 maps a Gemm, with no Reshapes around the elementwise ops between two), shares batch statistics, merges reshapes and runs small-map convolutions on columns after (summing their branches' gradients before the layout nodes, and keeping the layers between them in the columns layout, their 1x1 convolutions MatMuls by it), folds momentum sums into Gemms and takes scalings out of packs' gradients before constant folding, and lifts scalars to full rank before dce", () => {
  assert.deepEqual(beforeGradientsPipeline().map(passName), [
    "trim_conv_taps",
    "depthwise_scale",
    "depthwise_matrix",
    "gather_channel_shuffle",
    "pointwise_gemm",
    "elide_reshapes",
  ]);
  const inference = inferencePipeline("train").map(passName);
  const at = inference.indexOf("fold_constants");
  assert.deepEqual(trainStepPipeline().map(passName), [
    "share_batch_statistics",
    "merge_reshapes",
    "conv_columns",
    "sink_layout",
    ...inference.slice(0, at),
    "columns_layout",
    "columns_matmul",
    "fuse_gemm_accumulate",
    "sum_as_matmul",
    "hoist_concat_scales",
    ...inference.slice(at, -1),
    "full_rank_scalars",
    "dce",
  ]);
  assert.equal(inference.at(-1), "dce");
});
