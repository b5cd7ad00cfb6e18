/**
 * The reference interpreter: runs an IR graph (or an ONNX file) node by node
 * with the naive kernels of `kernels/`. It is the oracle the compiler's
 * output is diffed against, so it favours clarity and precise errors; values
 * are freed after their last use so large models fit in memory.
 */
import type { Graph, Node } from "../../compiler/ir/graph.ts";
import { formatType, isGraph } from "../../compiler/ir/graph.ts";
import type { Tensor } from "../../compiler/ir/tensor.ts";
import { diag, DlmError, fail } from "../../compiler/diagnostics.ts";
import type { KernelContext } from "./kernel.ts";
import { kernelFor } from "./kernels/mod.ts";

/** Options of `runGraph`. */
export interface RunOptions {
  /** Default-domain opset the graph follows (default 17). */
  opset?: number;
  /** Keep every value and return it in `values` (default false: values are freed after use). */
  intermediates?: boolean;
  /** Called with every value a node produces, as soon as it exists. */
  onValue?: (name: string, t: Tensor) => void;
  /**
   * Values to read in place of the graph's own: a node of the top-level graph whose input
   * `given(name)` returns a tensor reads that tensor. With another runtime's values it makes
   * each node's output the reference kernel applied to that runtime's inputs (`dlm diff`).
   */
  given?: (name: string) => Tensor | undefined;
}

/** What `runGraph` returns. */
export interface RunResult {
  /** Graph outputs by name. */
  outputs: Record<string, Tensor>;
  /** Inputs and every node output, when `intermediates` was set. */
  values?: Map<string, Tensor>;
}

/** Default opset of IR graphs built by dlm. */
export const DEFAULT_OPSET = 17;

/**
 * Run `graph` on `feeds` (one tensor per graph input, by name). Synchronous.
 * Errors: an unknown feed is DLM0418, a missing one DLM0419, a mistyped one
 * DLM0411, an operator without a kernel DLM0410, a kernel failure DLM0602
 * naming the node.
 *
 * @example
 * const { outputs } = runGraph(graph, { x: tensor("f32", [1, 3], [1, 2, 3]) });
 */
export function runGraph(
  graph: Graph,
  feeds: Record<string, Tensor>,
  opts: RunOptions = {},
): RunResult {
  checkFeeds(graph, feeds);
  const values = opts.intermediates ? new Map<string, Tensor>() : undefined;
  if (values) { for (const v of graph.inputs) values.set(v.name, feeds[v.name]); }
  const env = execute(graph, feeds, undefined, opts.opset ?? DEFAULT_OPSET, opts, values);
  const outputs: Record<string, Tensor> = {};
  graph.outputs.forEach((o, i) => outputs[o.name] = env[i]);
  return values ? { outputs, values } : { outputs };
}

/**
 * Run one operator on tensors, outside any graph (constant folding, tests).
 * `outputs` is the number of outputs the node declares (default 1), which
 * ops such as Split and MaxPool consult. Errors as in `runGraph`.
 *
 * @example
 * const [y] = runOp("Relu", [tensor("f32", [2], [-1, 1])]);
 */
export function runOp(
  op: string,
  inputs: (Tensor | undefined)[],
  attrs: Node["attrs"] = {},
  opts: { opset?: number; domain?: string; outputs?: number } = {},
): Tensor[] {
  const node: Node = {
    name: op,
    op,
    inputs: inputs.map((t, i) => (t ? `input_${i}` : "")),
    outputs: Array.from({ length: opts.outputs ?? 1 }, (_, i) => `output_${i}`),
    attrs,
  };
  if (opts.domain) node.domain = opts.domain;
  const graph: Graph = {
    name: op,
    inputs: [],
    outputs: [],
    nodes: [node],
    initializers: new Map(),
    types: new Map(),
    params: [],
  };
  inputs.forEach((t, i) => t && graph.initializers.set(`input_${i}`, t));
  const results: Tensor[] = [];
  execute(graph, {}, undefined, opts.opset ?? DEFAULT_OPSET, {
    onValue: (name, t) => (results[Number(name.slice("output_".length))] = t),
  }, undefined);
  return results;
}

/** Lookup of values defined by enclosing graphs (ONNX lexical scoping of subgraphs). */
type Scope = (name: string) => Tensor | undefined;

function checkFeeds(graph: Graph, feeds: Record<string, Tensor>): void {
  const names = new Set(graph.inputs.map((v) => v.name));
  for (const k of Object.keys(feeds)) {
    if (!names.has(k)) {
      const expected = graph.inputs.map((v) => `'${v.name}'`).join(", ") || "none";
      fail(...diag("DLM0418", `'${k}'`, expected));
    }
  }
  for (const v of graph.inputs) {
    const t = feeds[v.name];
    // An input with an initializer has a default (ONNX): feeding it is optional.
    if (!t && graph.initializers.has(v.name)) continue;
    if (!t) {
      const all = graph.inputs.map((i) => `'${i.name}'`).join(", ");
      fail(...diag("DLM0419", `'${v.name}' of type ${formatType(v.type)}`, all));
    }
    const want = formatType(v.type);
    const found = `${t.dtype}[${t.shape.join(", ")}]`;
    if (t.dtype !== v.type.dtype) {
      fail(...diag("DLM0411", v.name, want, found));
    }
    const rankOk = t.shape.length === v.type.shape.length;
    const dimsOk = rankOk &&
      v.type.shape.every((d, i) => typeof d !== "number" || d === t.shape[i]);
    if (!dimsOk) fail(...diag("DLM0411", v.name, want, found));
  }
}

/** Names a node reads: its inputs and, through subgraph attributes, outer values. */
function reads(node: Node): string[] {
  const out = node.inputs.filter((i) => i);
  for (const a of Object.values(node.attrs)) {
    if (isGraph(a)) out.push(...freeNames(a));
  }
  return out;
}

const FREE = new WeakMap<Graph, string[]>();

/** Values a subgraph reads from enclosing scopes (cached: loop bodies run often). */
function freeNames(g: Graph): string[] {
  const cached = FREE.get(g);
  if (cached) return cached;
  const defined = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializers.keys()]);
  const free = new Set<string>();
  for (const n of g.nodes) {
    for (const r of reads(n)) if (!defined.has(r)) free.add(r);
    for (const o of n.outputs) if (o) defined.add(o);
  }
  for (const o of g.outputs) if (!defined.has(o.name)) free.add(o.name);
  const list = [...free];
  FREE.set(g, list);
  return list;
}

/** Run one graph; returns its outputs in order. */
function execute(
  graph: Graph,
  feeds: Record<string, Tensor>,
  outer: Scope | undefined,
  opset: number,
  opts: RunOptions,
  values: Map<string, Tensor> | undefined,
): Tensor[] {
  const env = new Map<string, Tensor>();
  for (const [k, t] of graph.initializers) env.set(k, t);
  for (const v of graph.inputs) if (feeds[v.name]) env.set(v.name, feeds[v.name]);
  const given = outer ? undefined : opts.given;
  const lookup = (name: string): Tensor | undefined =>
    given?.(name) ?? env.get(name) ?? outer?.(name);

  // Index of the last node reading each value; graph outputs live to the end.
  const lastUse = new Map<string, number>();
  if (!opts.intermediates) {
    graph.nodes.forEach((n, i) => {
      for (const r of reads(n)) lastUse.set(r, i);
    });
    for (const o of graph.outputs) lastUse.set(o.name, Infinity);
  }

  graph.nodes.forEach((node, index) => {
    const inputs = node.inputs.map((name) => {
      if (!name) return undefined;
      const t = lookup(name);
      if (!t) {
        fail(
          ...diag(
            "DLM0602",
            "The reference interpreter",
            `node '${node.name}' (${node.op})`,
            `it reads '${name}', which no earlier node defines`,
          ),
          node.spans?.[0],
        );
      }
      return t;
    });
    const kernel = kernelFor(node.op, node.domain);
    if (!kernel) {
      const op = node.domain ? `${node.domain}::${node.op}` : node.op;
      fail(...diag("DLM0410", op, node.name), node.spans?.[0]);
    }
    const ctx: KernelContext = {
      node,
      opset,
      runSubgraph: (g, subFeeds) => execute(g, subFeeds, lookup, opset, opts, values),
    };
    let results: Tensor[];
    try {
      results = kernel(inputs, node.attrs, ctx);
    } catch (e) {
      if (e instanceof DlmError) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      fail(
        ...diag("DLM0602", "The reference interpreter", `node '${node.name}' (${node.op})`, msg),
        node.spans?.[0],
      );
    }
    node.outputs.forEach((name, i) => {
      if (!name) return;
      const t = results[i];
      if (!t) return;
      values?.set(name, t);
      opts.onValue?.(name, t);
      // A value nothing reads (say MaxPool's unused indices) is dropped at once.
      if (opts.intermediates || lastUse.has(name)) env.set(name, t);
    });
    if (!opts.intermediates) {
      for (const r of reads(node)) {
        if (lastUse.get(r) === index && env.has(r)) env.delete(r);
      }
    }
  });

  return graph.outputs.map((o) => {
    const t = lookup(o.name);
    if (!t) {
      fail(
        ...diag(
          "DLM0602",
          "The reference interpreter",
          `graph '${graph.name}'`,
          `its output '${o.name}' was never computed`,
        ),
      );
    }
    return t;
  });
}
