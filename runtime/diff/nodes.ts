/**
 * Node by node: what `dlm diff` does when outputs differ beyond tolerance.
 *
 * An output that differs does not by itself say that the two runtimes
 * compute different things: a graph may magnify rounding. Adam's update
 * lr m / (sqrt(v) + eps) turns a gradient that is zero in exact arithmetic
 * (an attention key bias, whose gradient softmax cancels) but 1e-10 after
 * rounding into a step of about +-lr, of either sign; a relu whose input
 * rounds to either side of 0 routes a gradient or does not. So onnxruntime
 * runs the graph again with every value exported, and the reference
 * interpreter runs each node on onnxruntime's own inputs (RunOptions.given).
 * A node whose output then differs beyond tolerance computes something other
 * than its reference kernel: a real divergence, located at the node. When
 * every node agrees, each differing output is the same computation on
 * inputs rounded differently, which is all two float implementations can
 * promise.
 */
import type { Graph, Node } from "../../compiler/ir/graph.ts";
import { cloneGraph } from "../../compiler/ir/graph.ts";
import type { Tensor } from "../../compiler/ir/tensor.ts";
import { emitModel } from "../../compiler/onnx/emit.ts";
import { runGraph } from "../reference/mod.ts";
import { createSession } from "../ort/mod.ts";
import { compareTensors, type Comparison } from "./compare.ts";

/** A value that differs, the node that made it, and by how much. */
export interface Divergence {
  value: string;
  node?: Node;
  comparison: Comparison;
}

/** What the node-by-node check found. */
export interface NodeCheck {
  /** Values compared (every node output onnxruntime returned). */
  values: number;
  /**
   * The first value, in execution order, that onnxruntime computed differently from the
   * reference kernel given onnxruntime's own inputs; none when every node agrees.
   */
  first?: Divergence;
}

/** Options of the check: the tolerances and the onnxruntime to run. */
export interface NodeCheckOptions {
  rtol: number;
  atol: number;
  backend: "node" | "web";
  opset?: number;
}

/**
 * `graph` with every node output also a graph output, and the outputs in execution order
 * with the node that makes each.
 */
export function withEveryValue(
  graph: Graph,
): { graph: Graph; order: { value: string; node: Node }[] } {
  const g = cloneGraph(graph);
  const have = new Set(g.outputs.map((o) => o.name));
  const order: { value: string; node: Node }[] = [];
  for (const n of g.nodes) {
    for (const o of n.outputs) {
      if (!o) continue;
      order.push({ value: o, node: n });
      const t = g.types.get(o);
      if (!have.has(o) && t) {
        g.outputs.push({ name: o, type: t });
        have.add(o);
      }
    }
  }
  return { graph: g, order };
}

/** Every value of `graph` on `feeds`, as onnxruntime computes them. */
export async function runtimeValues(
  graph: Graph,
  feeds: Record<string, Tensor>,
  opts: NodeCheckOptions,
): Promise<Record<string, Tensor>> {
  const { model } = emitModel(withEveryValue(graph).graph, { opset: opts.opset });
  const session = await createSession(model, { backend: opts.backend });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/**
 * Check each node of `graph` on `feeds`: onnxruntime's output against the reference kernel
 * run on onnxruntime's inputs, within `rtol`/`atol` (the allclose rule of compare.ts).
 * `runtimeGraph` is what onnxruntime runs (default `graph`; a test gives it a perturbed one).
 *
 * @example
 * const c = await checkNodes(step, feeds, { rtol: 1e-4, atol: 1e-5, backend: "node" });
 * if (c.first) console.log(`${c.first.node?.op} '${c.first.value}' disagrees`);
 */
export async function checkNodes(
  graph: Graph,
  feeds: Record<string, Tensor>,
  opts: NodeCheckOptions,
  runtimeGraph: Graph = graph,
): Promise<NodeCheck> {
  const got = await runtimeValues(runtimeGraph, feeds, opts);
  const nodeOf = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) nodeOf.set(o, n);
  let values = 0;
  let first: Divergence | undefined;
  try {
    runGraph(graph, feeds, {
      given: (name) => got[name],
      onValue: (name, mine) => {
        const theirs = got[name];
        if (!theirs || !nodeOf.has(name)) return;
        values++;
        const comparison = compareTensors(theirs, mine, opts.rtol, opts.atol);
        if (comparison.ok) return;
        first = { value: name, node: nodeOf.get(name), comparison };
        throw new Found();
      },
    });
  } catch (e) {
    if (!(e instanceof Found)) throw e;
  }
  return { values, first };
}

/** Stops the reference run at the first node that disagrees. */
class Found extends Error {}
