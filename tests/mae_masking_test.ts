/**
 * MAE's random masking written with the sorting primitives (tests/fixtures/programs/
 * mae_masking.dlm): argsort of noise, the first k indices kept, the visible patches gathered,
 * the encoded ones scattered back. It compiles to a handful of nodes, masks what it should, runs
 * alike in the reference interpreter and onnxruntime, and trains alike in both (`dlm diff
 * --train 2`), the gradients reaching the encoder through the gather and the scatter.
 */
import assert from "node:assert/strict";
import { compileFile } from "../compiler/compile.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { formatType, type Graph } from "../compiler/ir/graph.ts";
import { type Tensor, tensor, toNumbers, zeros } from "../compiler/ir/tensor.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { prepareInputs } from "../runtime/inputs.ts";
import { dlm } from "./cli_testing.ts";

const FILE = decodeURIComponent(
  new URL("fixtures/programs/mae_masking.dlm", import.meta.url).pathname,
);

function model(): Graph {
  const r = compileFile(FILE, { mode: "eval" });
  assert.deepEqual(r.diagnostics.map((d) => d.message), []);
  return r.graph!;
}

Deno.test("MAE masking compiles to a few plain nodes with exact types", () => {
  const g = model();
  assert.deepEqual(g.outputs.map((o) => `${o.name}: ${formatType(g.types.get(o.name)!)}`), [
    "restore: i64[N, 16]",
    "recon: f32[N, 16, 8]",
    "mask: f32[N, 16]",
  ]);
  const count = (op: string) => g.nodes.filter((n) => n.op === op).length;
  // Two sorts, one gather of the visible patches, a scatter of the codes and one of the mask.
  assert.deepEqual([count("TopK"), count("GatherElements"), count("ScatterElements")], [2, 1, 2]);
  // No one-hot products or pairwise comparisons: the masking is not O(L^2).
  assert.equal(count("OneHot") + count("Less") + count("Greater"), 0);
});

Deno.test("MAE masking keeps `keep` patches per row, the rest masked, and restores the order", () => {
  const g = model();
  const patches = prepareInputs(g, { seed: 3, dims: { N: 3 } }).patches;
  const out = runGraph(g, { patches }).outputs;
  const restore = toNumbers(out.restore), mask = toNumbers(out.mask);
  for (let n = 0; n < 3; n++) {
    const row = restore.slice(n * 16, n * 16 + 16);
    assert.deepEqual([...row].sort((a, b) => a - b), [...Array(16).keys()], "a permutation");
    // A patch is visible exactly when its place in the noise order is among the first 4.
    row.forEach((r, p) => assert.equal(mask[n * 16 + p], r < 4 ? 0 : 1, `row ${n} patch ${p}`));
  }
});

Deno.test("MAE masking runs alike in both runtimes and trains alike: dlm diff and diff --train 2", async () => {
  const run = await dlm("diff", FILE, "--dim", "N=3");
  assert.equal(run.code, 0, run.out + run.err);
  assert.match(run.out, /restore .* ok\n.*recon .* ok\n.*mask .* ok/s);
  const train = await dlm("diff", FILE, "--train", "2");
  assert.equal(train.code, 0, train.out + train.err);
  assert.match(train.out, /2 of 2 steps/);
});

Deno.test("a step moves the encoder (through the gather and scatter) and the mask token", () => {
  const c = compileTrain(FILE, {});
  assert.deepEqual(c.diagnostics.filter((d) => d.severity === "error"), []);
  const g = c.step!;
  const feeds: Record<string, Tensor> = {};
  const batch = prepareInputs({ ...g, inputs: g.inputs.filter((i) => i.name === "patches") }, {
    seed: 1,
    dims: { N: 4 },
  });
  for (const i of g.inputs) {
    if (i.name in batch) feeds[i.name] = batch[i.name];
    else if (i.name === "step") feeds[i.name] = tensor("i64", [], [0]);
    else if (g.initializers.has(i.name)) feeds[i.name] = g.initializers.get(i.name)!;
    else feeds[i.name] = zeros(i.type.dtype, i.type.shape as number[]); // Adam's moments
  }
  const out = runGraph(g, feeds).outputs;
  const moved = (p: string) =>
    toNumbers(out[`next:${p}`]).some((v, k) => v !== toNumbers(feeds[p])[k]);
  for (const p of ["enc.weight", "enc.bias", "mask_token.bias", "mix.weight", "dec.weight"]) {
    assert.ok(moved(p), `${p} moved`);
  }
  // The mask token's weight multiplies zeros: its gradient is zero, and so is Adam's step.
  assert.ok(!moved("mask_token.weight"));
});
