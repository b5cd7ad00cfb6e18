/**
 * `dlm diff`: the reference interpreter and onnxruntime on the same graph
 * and inputs. Per output, the largest absolute and relative errors; when an
 * output is out of tolerance, the run is repeated with every intermediate
 * value exported, and the first value (in execution order) that diverges is
 * reported with the node that made it and its source line. Random nodes
 * (dropout in train mode, `rand_like`, `randn`, `randperm`...) draw the same numbers on
 * both sides (runtime/train/draws.ts), as in `dlm diff --train` and in training.
 */
import type { Graph } from "../../compiler/ir/graph.ts";
import { cloneGraph, formatSpan } from "../../compiler/ir/graph.ts";
import type { Tensor } from "../../compiler/ir/tensor.ts";
import { emitModel } from "../../compiler/onnx/emit.ts";
import { runGraph } from "../reference/mod.ts";
import { createSession } from "../ort/mod.ts";
import { compareTensors, type Comparison } from "./compare.ts";
import { type Divergence, runtimeValues, withEveryValue } from "./nodes.ts";

export type { Divergence };
import { batchSizes, drawFeeds, drawsAsInputs } from "../train/draws.ts";

export interface DiffOptions {
  rtol: number;
  atol: number;
  backend: "node" | "web";
  opset?: number;
  /** Seed of the random draws both sides share (default 0). */
  seed?: number;
  /**
   * onnxruntime's outputs of this graph on the same feeds, when the caller has run it already
   * (the playground shows them): used instead of a second session when the graph draws nothing
   * at random, where they are what that session would compute. `runtimeMs` is then 0.
   */
  runtimeOutputs?: Record<string, Tensor>;
}

export interface OutputDiff extends Comparison {
  name: string;
}

export interface DiffResult {
  outputs: OutputDiff[];
  ok: boolean;
  divergence?: Divergence;
  referenceMs: number;
  runtimeMs: number;
  /** Random nodes whose draws were made shared inputs. */
  sharedDraws: number;
}

/**
 * Run `graph` on the reference interpreter and on onnxruntime with the same feeds (and the
 * same random draws), compare the outputs, and find the first divergence if one is out of
 * tolerance. `graph` is not changed.
 */
export async function diffGraph(
  original: Graph,
  given: Record<string, Tensor>,
  opts: DiffOptions,
): Promise<DiffResult> {
  // Each random node becomes an input drawn here, fed the same to both sides.
  const graph = cloneGraph(original);
  const draws = drawsAsInputs(graph);
  const feeds = {
    ...given,
    ...drawFeeds(draws, batchSizes(graph.inputs, given), opts.seed ?? 0, [0]),
  };
  let t0 = performance.now();
  const ref = runGraph(graph, feeds);
  const referenceMs = performance.now() - t0;
  let got: Record<string, Tensor>;
  let runtimeMs = 0;
  if (opts.runtimeOutputs && draws.length === 0) got = opts.runtimeOutputs;
  else {
    const { model } = emitModel(graph, { opset: opts.opset });
    const session = await createSession(model, { backend: opts.backend });
    t0 = performance.now();
    try {
      got = await session.run(feeds);
    } finally {
      await session.release();
    }
    runtimeMs = performance.now() - t0;
  }
  const outputs = graph.outputs.map((o) => ({
    name: o.name,
    ...compareTensors(got[o.name], ref.outputs[o.name], opts.rtol, opts.atol),
  }));
  const ok = outputs.every((o) => o.ok);
  const result: DiffResult = { outputs, ok, referenceMs, runtimeMs, sharedDraws: draws.length };
  if (!ok) result.divergence = await firstDivergence(graph, feeds, opts);
  return result;
}

/** Re-run with every node output exported and find the first value out of tolerance. */
async function firstDivergence(
  graph: Graph,
  feeds: Record<string, Tensor>,
  opts: DiffOptions,
): Promise<Divergence | undefined> {
  const ref = runGraph(graph, feeds, { intermediates: true });
  const got = await runtimeValues(graph, feeds, opts);
  for (const { value, node } of withEveryValue(graph).order) {
    const a = got[value], b = ref.values?.get(value);
    if (!a || !b) continue;
    const c = compareTensors(a, b, opts.rtol, opts.atol);
    if (!c.ok) return { value, node, comparison: c };
  }
  return undefined;
}

export function formatDiff(r: DiffResult, opts: DiffOptions): string {
  const lines: string[] = [];
  const w = Math.max(6, ...r.outputs.map((o) => o.name.length));
  lines.push(
    `${"output".padEnd(w)}  ${"max abs err".padStart(12)}  ${"max rel err".padStart(12)}  verdict`,
  );
  for (const o of r.outputs) {
    const verdict = o.problem
      ? `FAIL (${o.problem})`
      : o.ok
      ? "ok"
      : `FAIL (${o.bad} elements outside tolerance)`;
    lines.push(
      `${o.name.padEnd(w)}  ${fmt(o.maxAbs).padStart(12)}  ${
        fmt(o.maxRel).padStart(12)
      }  ${verdict}`,
    );
  }
  const draws = r.sharedDraws
    ? `${r.sharedDraws} random draw(s) shared (dropout masks, random tensors); `
    : "";
  lines.push(
    `${draws}tolerance rtol ${opts.rtol}, atol ${opts.atol}; reference ${
      r.referenceMs.toFixed(1)
    } ms, onnxruntime-${opts.backend} ${r.runtimeMs.toFixed(1)} ms`,
  );
  if (r.divergence) {
    const d = r.divergence;
    const where = d.node?.spans?.length ? ` at ${d.node.spans.map(formatSpan).join(", ")}` : "";
    lines.push(
      `first divergence: value '${d.value}' from ${d.node?.op ?? "?"} node '${
        d.node?.name ?? "?"
      }'${where}: max abs err ${fmt(d.comparison.maxAbs)}, max rel err ${fmt(d.comparison.maxRel)}`,
    );
  }
  return lines.join("\n");
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toExponential(2) : String(v);
}
