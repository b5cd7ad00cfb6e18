import assert from "node:assert/strict";
import { compileFile } from "../../compiler/compile.ts";
import { inferencePipeline, runPasses } from "../../compiler/passes/mod.ts";
import type { Graph } from "../../compiler/ir/graph.ts";
import { prepareInputs } from "../inputs.ts";
import { main } from "../../cli/main.ts";
import { diffGraph, formatDiff } from "./diff.ts";

const TOL = { rtol: 1e-4, atol: 1e-5, backend: "node" as const };

/** A model with every kind of random node, compiled in `mode` and lowered as dlm diff runs it. */
function noisy(mode: "eval" | "train"): Graph {
  const src = `model Noisy {
    input x: f32[N, 8]
    let h = x |> fc: linear(8) |> dropout(0.5)
    output y = h + randn_like(h) * 0.5 + rand_like(h)
  }`;
  const r = compileFile("noisy.dlm", { read: () => src, mode });
  assert.deepEqual(r.diagnostics, []);
  runPasses(r.graph!, inferencePipeline(mode), { mode });
  return r.graph!;
}

Deno.test("a plain diff of a model with randn_like, rand_like and train-mode dropout shares the draws and agrees", async () => {
  const g = noisy("train");
  const nodes = g.nodes.length;
  const feeds = prepareInputs(g, { seed: 1, dims: { N: 3 } });
  const r = await diffGraph(g, feeds, TOL);
  assert.equal(r.ok, true, formatDiff(r, TOL));
  assert.equal(r.sharedDraws, 3);
  assert.match(formatDiff(r, TOL), /3 random draw\(s\) shared/);
  // The caller's graph is left as it was.
  assert.equal(g.nodes.length, nodes);
  assert.ok(g.nodes.some((n) => n.op === "RandomNormalLike"));
});

Deno.test("in eval mode only the random draws are shared (dropout is the identity)", async () => {
  const g = noisy("eval");
  const r = await diffGraph(g, prepareInputs(g, { seed: 1, dims: { N: 3 } }), TOL);
  assert.equal(r.ok, true, formatDiff(r, TOL));
  assert.equal(r.sharedDraws, 2);
});

Deno.test("dlm diff agrees on lang-examples/gan.dlm, whose generator draws its noise in the graph", async () => {
  const out: string[] = [];
  const gan = new URL("../../lang-examples/gan.dlm", import.meta.url).pathname;
  const code = await main(["diff", gan], { out: (s) => out.push(s), err: (s) => out.push(s) });
  assert.equal(code, 0, out.join("\n"));
  assert.match(out.join("\n"), /^fake .* ok$/m);
  assert.match(out.join("\n"), /1 random draw\(s\) shared/);
});

Deno.test("diffGraph compares the caller's onnxruntime outputs when the graph draws nothing, and runs its own when it does", async () => {
  const src = `model Lin {
    input x: f32[N, 4]
    output y = x |> fc: linear(3)
  }`;
  const r = compileFile("lin.dlm", { read: () => src });
  assert.deepEqual(r.diagnostics, []);
  const g = r.graph!;
  const feeds = prepareInputs(g, { seed: 1, dims: { N: 2 } });
  const ok = await diffGraph(g, feeds, TOL);
  assert.equal(ok.ok, true, formatDiff(ok, TOL));
  // Outputs that are off by one: the diff reports them, so they were what it compared.
  const y = feeds.x; // any f32 tensor of the wrong values and shape
  const off = await diffGraph(g, feeds, { ...TOL, runtimeOutputs: { y } });
  assert.equal(off.ok, false);
  assert.equal(off.runtimeMs, 0);
  // A graph with random draws runs its own session: the caller's outputs (without the shared
  // draws) are not what it would compute.
  const noisyGraph = noisy("train");
  const nf = prepareInputs(noisyGraph, { seed: 1, dims: { N: 3 } });
  const own = await diffGraph(noisyGraph, nf, { ...TOL, runtimeOutputs: { y: nf.x } });
  assert.equal(own.ok, true, formatDiff(own, TOL));
});
