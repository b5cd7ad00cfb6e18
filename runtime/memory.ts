/**
 * A run's memory, estimated from the graph's shapes before anything is allocated, and the
 * budget it must fit. The size limit per tensor (DLM0303) does not bound a run: many tensors
 * under it, or `--dim` sizes that make every activation large, can still exhaust the machine.
 *
 * The estimate is what a run keeps at once at its worst moment:
 * - every initializer (weights, buffers, constants) and every graph input (data, and for a
 *   training step its parameters and optimiser state), resident for the whole run;
 * - the intermediate values live at the peak: the nodes run in the graph's order, a value is
 *   live from the node that makes it to the last node that reads it (a graph output to the
 *   end), and at each node its outputs are live together with everything still to be read;
 * - a node with a subgraph (a multi-step model's Scan, an If, a Loop) adds its body's own
 *   estimate while it runs.
 * Values whose size the given dims do not fix (a data-dependent shape) count as nothing. The
 * figure is the graph's own need: onnxruntime's arena and the host's copies of the feeds come on
 * top, which is why the budget is a fraction of the machine's memory rather than all of it.
 */
import type { Dim, Graph, Span, TensorType } from "../compiler/ir/graph.ts";
import { evalDim } from "../compiler/ops/dims.ts";
import { DTYPES } from "../compiler/ir/tensor.ts";
import { diag, fail } from "../compiler/diagnostics.ts";

/** What a run of a graph needs, in bytes, by kind, and where its peak is. */
export interface MemoryEstimate {
  /** Initializers: weights, buffers, constants. */
  weights: number;
  /** Graph inputs (data, parameters and state fed to a step). */
  inputs: number;
  /** Intermediate values live at once at the peak (subgraph bodies included). */
  peak: number;
  /** The largest value live at the peak, for the message's location. */
  largest?: string;
  total: number;
}

/** The fraction of the machine's memory a run may plan to use by default. */
export const DEFAULT_BUDGET_FRACTION = 0.75;

/** The budget: its bytes and where it came from, for the message. */
export interface MemoryBudget {
  bytes: number;
  origin: string;
}

/**
 * The budget of a run: `option` (a size given on the command line, `--memory-budget 16G`), else
 * `$DLM_MEMORY_BUDGET`, else 75% of the machine's memory (Deno.systemMemoryInfo); Infinity when
 * none of these can be read. A size is bytes or a number with K, M, G or T (powers of 1024).
 */
export function memoryBudget(
  option?: string,
  getEnv: (name: string) => string | undefined = (n) => Deno.env.get(n),
): MemoryBudget {
  if (option !== undefined) {
    return { bytes: parseSize(option, "--memory-budget"), origin: `--memory-budget ${option}` };
  }
  let env: string | undefined;
  try {
    env = getEnv("DLM_MEMORY_BUDGET") || undefined;
  } catch { /* no --allow-env: the machine's memory decides */ }
  if (env !== undefined) {
    return { bytes: parseSize(env, "DLM_MEMORY_BUDGET"), origin: `DLM_MEMORY_BUDGET=${env}` };
  }
  let total: number | undefined;
  try {
    total = Deno.systemMemoryInfo().total;
  } catch { /* no --allow-sys */ }
  if (!total) return { bytes: Infinity, origin: "the machine's memory is not known" };
  return {
    bytes: Math.floor(total * DEFAULT_BUDGET_FRACTION),
    origin: `${DEFAULT_BUDGET_FRACTION * 100}% of the machine's ${formatBytes(total)}`,
  };
}

/** "16G", "512M", "1.5G", "1000000" as bytes; DLM0501 naming `what` otherwise. */
export function parseSize(s: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(s);
  const unit = m
    ? { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2].toLowerCase()]
    : 0;
  const n = m ? Number(m[1]) * unit! : NaN;
  if (!Number.isFinite(n) || n <= 0) {
    fail(...diag("DLM0501", what, "a size such as 16G, 512M or a number of bytes", `'${s}'`));
  }
  return Math.floor(n);
}

/** 1.2 GB, 340 MB, 12 KB, 100 bytes (powers of 1024, as the budget's units). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const units: [number, string][] = [[2 ** 40, "TB"], [2 ** 30, "GB"], [2 ** 20, "MB"], [
    2 ** 10,
    "KB",
  ]];
  for (const [u, name] of units) if (n >= u) return `${(n / u).toFixed(1)} ${name}`;
  return `${n} bytes`;
}

/** The memory a run of `graph` with its symbols sized by `sizes` needs (see the module's comment). */
export function estimateMemory(
  graph: Graph,
  sizes: Readonly<Record<string, number>>,
): MemoryEstimate {
  const cache = new Map<Dim, number | undefined>();
  const dim = (d: Dim) => {
    if (!cache.has(d)) cache.set(d, evalDim(d, sizes));
    return cache.get(d);
  };
  const bytes = (t: TensorType | undefined): number => {
    if (!t) return 0;
    let n = DTYPES[t.dtype]?.bytes || 8; // strings: a reference each, at least
    for (const d of t.shape) {
      const v = dim(d);
      if (v === undefined) return 0;
      n *= Math.max(v, 0);
    }
    return n;
  };
  return estimateGraph(graph, bytes);
}

function estimateGraph(g: Graph, bytes: (t: TensorType | undefined) => number): MemoryEstimate {
  const resident = new Set<string>();
  let weights = 0, inputs = 0;
  for (const [name, t] of g.initializers) {
    resident.add(name);
    weights += bytes(g.types.get(name) ?? { dtype: t.dtype, shape: t.shape });
  }
  for (const i of g.inputs) {
    if (resident.has(i.name)) continue;
    resident.add(i.name);
    inputs += bytes(i.type);
  }
  // The last node that reads each value; graph outputs stay to the end.
  const lastUse = new Map<string, number>();
  g.nodes.forEach((n, k) => {
    for (const x of n.inputs) if (x) lastUse.set(x, k);
  });
  for (const o of g.outputs) lastUse.set(o.name, Infinity);
  const live = new Map<string, number>();
  let current = 0, peak = 0, peakNode = -1;
  g.nodes.forEach((n, k) => {
    for (const o of n.outputs) {
      if (!o || resident.has(o) || live.has(o)) continue;
      const b = bytes(g.types.get(o));
      live.set(o, b);
      current += b;
    }
    // A body runs while its node does: its own peak comes on top of what is live.
    let body = 0;
    for (const key in n.attrs) {
      const a = n.attrs[key];
      if (a && typeof a === "object" && "nodes" in a) {
        const e = estimateGraph(a as Graph, bytes);
        body = Math.max(body, e.weights + e.peak);
      }
    }
    if (current + body > peak) [peak, peakNode] = [current + body, k];
    // (A value both read and written here is freed once: the second time it is not live.)
    const free = (x: string) => {
      if (x && (lastUse.get(x) ?? -1) <= k) {
        const b = live.get(x);
        if (b === undefined) return;
        current -= b;
        live.delete(x);
      }
    };
    for (const x of n.inputs) free(x);
    for (const x of n.outputs) free(x);
  });
  // The largest value live at the peak: made at or before that node, read at or after it.
  let largest: string | undefined, most = -1;
  for (let k = 0; k <= peakNode; k++) {
    for (const o of g.nodes[k].outputs) {
      if (!o || resident.has(o) || (lastUse.get(o) ?? k) < peakNode) continue;
      const b = bytes(g.types.get(o));
      if (b > most) [largest, most] = [o, b];
    }
  }
  return { weights, inputs, peak, largest, total: weights + inputs + peak };
}

/**
 * Refuse a run whose estimate exceeds the budget (DLM0353), before anything is allocated: named
 * by `what` ("The model 'Mlp'", "The step model"), with the sizes that made it so (`by`, e.g.
 * "--dim N=1000000"), at the source of the largest value live at the peak when the graph knows
 * it (a compiled .dlm file's node spans).
 */
export function checkMemory(
  graph: Graph,
  sizes: Readonly<Record<string, number>>,
  budget: MemoryBudget,
  what: string,
  by: string,
): MemoryEstimate {
  const e = estimateMemory(graph, sizes);
  if (e.total > budget.bytes) {
    const parts = [
      `${formatBytes(e.weights)} of weights`,
      `${formatBytes(e.inputs)} of inputs`,
      `${formatBytes(e.peak)} of values live at once${
        e.largest ? `, '${e.largest}' the largest` : ""
      }`,
    ].join(", ");
    fail(
      ...diag(
        "DLM0353",
        `${what}${by ? ` with ${by}` : ""}`,
        formatBytes(e.total),
        parts,
        formatBytes(budget.bytes),
        budget.origin,
      ),
      spanOf(graph, e.largest),
    );
  }
  return e;
}

/** The source of value `name`: its declaration, else the first span of the node that makes it. */
function spanOf(g: Graph, name: string | undefined): Span | undefined {
  if (name === undefined) return undefined;
  const declared = g.spans?.get(name);
  if (declared) return declared;
  return g.nodes.find((n) => n.outputs.includes(name))?.spans?.[0];
}
