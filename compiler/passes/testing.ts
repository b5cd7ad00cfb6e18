/**
 * Test helpers for passes: apply a pass with the verifier on, feed a graph
 * random inputs, and compare two graphs' outputs with the reference
 * interpreter. Used by the `*_test.ts` files of this folder only.
 */
import assert from "node:assert/strict";
import type { AttrValue, Graph } from "../ir/graph.ts";
import { cloneGraph } from "../ir/graph.ts";
import { GraphBuilder } from "../ops/builder.ts";
import { type DType, isFloat, numel, type Tensor, tensor, toNumbers } from "../ir/tensor.ts";
import { runGraph } from "../../runtime/reference/mod.ts";
import type { Pass, PassContext, PassFn, PassRun } from "./context.ts";
import { newPassReport, runPasses } from "./manager.ts";
import { mulberry32 } from "../ir/rng.ts";

/** A deterministic generator of floats in [0, 1). */
export const seeded = mulberry32;

/** A tensor of values uniform in [lo, hi) (integers rounded down). */
export function randomTensor(
  dtype: DType,
  shape: number[],
  rand: () => number,
  lo = -1,
  hi = 1,
): Tensor {
  const n = numel(shape);
  const v = Array.from({ length: n }, () => lo + (hi - lo) * rand());
  return tensor(dtype, shape, isFloat(dtype) ? v : v.map(Math.floor));
}

/** Random feeds for every graph input; symbolic dims take their size from `dims` (default 2). */
export function randomFeeds(
  g: Graph,
  seed = 1,
  dims: Record<string, number> = {},
): Record<string, Tensor> {
  const rand = seeded(seed);
  const feeds: Record<string, Tensor> = {};
  for (const v of g.inputs) {
    const shape = v.type.shape.map((d) => (typeof d === "number" ? d : dims[d] ?? 2));
    feeds[v.name] = randomTensor(v.type.dtype, shape, rand);
  }
  return feeds;
}

/** What `applyPass` returns. */
export interface Applied {
  /** The rewritten copy (the original graph is untouched). */
  graph: Graph;
  changed: boolean;
  /** The pass manager's record of the run (fired count, rewrites, spans). */
  run: PassRun;
}

/**
 * Run one pass once on a copy of `g`, with the IR verifier before and after
 * (through the pass manager, so the run is recorded as in a pipeline).
 */
export function applyPass(g: Graph, pass: Pass | PassFn, ctx: Partial<PassContext> = {}): Applied {
  const graph = cloneGraph(g);
  const report = newPassReport();
  const changed = runPasses(graph, [pass], {
    mode: "eval",
    ...ctx,
    verify: true,
    maxRounds: 1,
    report,
  });
  return { graph, changed, run: report.runs[0] };
}

/** The op types of the graph's nodes, in order. */
export function ops(g: Graph): string[] {
  return g.nodes.map((n) => n.op);
}

/**
 * Run both graphs on the same feeds and check every output of `before` is
 * close in `after`: |a - b| <= atol + rtol * |b| elementwise (same dtype and shape).
 */
export function assertSameOutputs(
  before: Graph,
  after: Graph,
  feeds: Record<string, Tensor>,
  tol: { rtol?: number; atol?: number } = {},
): void {
  const rtol = tol.rtol ?? 1e-5;
  const atol = tol.atol ?? 1e-6;
  const a = runGraph(before, feeds).outputs;
  const afterFeeds = Object.fromEntries(
    after.inputs.map((v) => [v.name, feeds[v.name]]),
  );
  const b = runGraph(after, afterFeeds).outputs;
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort(), "the graph outputs differ");
  for (const [name, want] of Object.entries(a)) {
    const got = b[name];
    assert.equal(got.dtype, want.dtype, `output '${name}' changed dtype`);
    assert.deepEqual(got.shape, want.shape, `output '${name}' changed shape`);
    const x = toNumbers(got), y = toNumbers(want);
    for (let i = 0; i < y.length; i++) {
      const ok = Math.abs(x[i] - y[i]) <= atol + rtol * Math.abs(y[i]) ||
        (Number.isNaN(x[i]) && Number.isNaN(y[i]));
      assert.ok(ok, `output '${name}'[${i}] is ${x[i]} after the pass, ${y[i]} before`);
    }
  }
}

/** y = Conv(x, w[, b]) with every operand a graph input (x's dims may be symbolic). */
export function convGraph(
  x: (number | string)[],
  w: number[],
  attrs: Record<string, AttrValue>,
  bias = false,
): Graph {
  const b = new GraphBuilder("conv");
  const inputs = [
    b.input("x", { dtype: "f32", shape: x }),
    b.input("w", { dtype: "f32", shape: w }),
    ...(bias ? [b.input("b", { dtype: "f32", shape: [w[0]] })] : []),
  ];
  b.output(b.addNode("Conv", inputs, attrs)[0], "y");
  return b.graph;
}

/**
 * `fn`'s result with some fields of a tuning object (a pass's thresholds) set, and the fields
 * restored after, also when it throws: a test compares a step built with a rewrite and without.
 */
export function withTuning<T extends object, R>(tuning: T, patch: Partial<T>, fn: () => R): R {
  const saved = { ...tuning };
  Object.assign(tuning, patch);
  try {
    return fn();
  } finally {
    Object.assign(tuning, saved);
  }
}
