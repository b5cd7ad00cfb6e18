/**
 * merge_adapters: fold LoRA updates and IA3 scalings into the weights of the
 * layers they adapt (`dlm compile --adapters merged`), so that the graph is
 * the base model's, with merged weights, and runs at the base model's speed.
 *
 *   LoRA:       W' = W + (alpha / r) B A     (per enabled part of the output)
 *   IA3 output: W'[o, :] = l[o] W[o, :],  b'[o] = l[o] b[o]
 *   IA3 input:  W'[:, i] = l[i] W[:, i]     (after the layer's LoRA updates, which read the
 *                                          scaled input too)
 *   subspace:   W' = W + reshape(P z)       (P dense or a fastfood product of constants:
 *                                          evaluated by folding the graph's own nodes)
 *
 * Runs after weights are loaded and before the other passes (batch-norm
 * folding would otherwise change W under it). Each adapted value's node
 * becomes Identity(base) (remove_noops deletes it later), and DCE deletes
 * the adapter branches and the parameters only they read.
 */
import type { Graph, MergeRecord } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { diag, DlmError, error } from "../diagnostics.ts";
import { dce } from "./dce.ts";
import { foldConstants } from "./fold_constants.ts";
import { emptyGraph } from "../ir/graph.ts";

export interface MergeSummary {
  /** Weights that changed, each once. */
  weights: string[];
  /** Adapter parameters removed. */
  removed: string[];
}

function f32(g: Graph, name: string, what: string): Tensor {
  const t = g.initializers.get(name);
  if (!t) {
    throw new DlmError(
      error(...diag("DLM0511", `${what} '${name}' is not a constant of the graph`)),
    );
  }
  if (t.dtype !== "f32") {
    throw new DlmError(
      error(...diag("DLM0511", `${what} '${name}' is ${t.dtype}; merging needs f32`)),
    );
  }
  return t;
}

/** A tensor over `data` itself (tensor() would copy 7 MB per GPT-2 weight). */
function f32Tensor(shape: readonly number[], data: Float32Array): Tensor {
  return { dtype: "f32", shape: [...shape], data };
}

/** Fold every record of `g.merges` into its weight. Rewrites `g` in place. */
export function mergeAdapters(g: Graph): MergeSummary {
  // In application order, except IA3 input scalings last: the scaling applies to the layer's
  // input, which every LoRA update of that layer also reads, so W' = (W + s B A) diag(l).
  const all = g.merges ?? [];
  // Subspace records first, from the weights as loaded: theta' = theta + P z, all of them at once.
  const subspace = all.filter((m) => m.method === "subspace");
  if (subspace.length) mergeSubspace(g, subspace);
  const records = [
    ...all.filter((m) => m.method !== "ia3_in"),
    ...all.filter((m) => m.method === "ia3_in"),
  ];
  const done = new Set<string>();
  const weights = new Set<string>();
  const adapterValues = new Set<string>();
  for (const m of records) {
    // A shared layer applied twice records its adapter twice: fold it once.
    const key = `${m.method}|${m.adapter}|${m.weight}`;
    if (!done.has(key)) {
      done.add(key);
      if (m.method === "lora") mergeLora(g, m);
      else if (m.method !== "subspace") mergeIa3(g, m);
      weights.add(m.weight);
    }
    if (m.method === "lora") adapterValues.add(m.a).add(m.b);
    else adapterValues.add(m.vector);
    const n = g.nodes.find((x) => x.outputs.includes(m.result));
    if (!n) continue;
    n.op = "Identity";
    n.domain = undefined;
    n.inputs = [m.base];
    n.outputs = [m.result];
    n.attrs = {};
  }
  // The adapter branches are dead now: DCE removes them and the parameters only they read.
  dce(g, { mode: "eval" });
  const removed = [...adapterValues].filter((name) => !g.initializers.has(name));
  g.merges = [];
  return { weights: [...weights], removed };
}

function mergeLora(g: Graph, m: Extract<MergeRecord, { method: "lora" }>): void {
  const w = f32(g, m.weight, "weight");
  const a = f32(g, m.a, "LoRA A");
  const b = f32(g, m.b, "LoRA B");
  // Integers kept as such (| 0): V8 indexes typed arrays much faster with small ints than with
  // the doubles a division gives.
  const out = w.shape[0] | 0;
  const cols = (w.data.length / out) | 0; // in * kernel
  const r = b.shape[1] | 0;
  const part = (out / m.parts.length) | 0;
  const W = new Float32Array(w.data as Float32Array);
  const A = a.data as Float32Array, B = b.data as Float32Array;
  const scale = m.scale;
  let k = 0;
  for (let slot = 0; slot < m.parts.length; slot++) {
    if (!m.parts[slot]) continue;
    for (let o = 0; o < part; o++) {
      // Row slot*part + o of W gains scale * B[k*part + o, :] @ A[k*r : (k+1)*r, :].
      const row = (slot * part + o) * cols;
      const brow = (k * part + o) * r;
      for (let j = 0; j < r; j++) {
        const s = scale * B[brow + j];
        if (s === 0) continue;
        const arow = (k * r + j) * cols;
        for (let c = 0; c < cols; c++) W[row + c] += s * A[arow + c];
      }
    }
    k++;
  }
  g.initializers.set(m.weight, f32Tensor(w.shape, W));
}

/**
 * theta := theta + reshape(P z) for every subspace record. The projection's nodes read only
 * constants and z, so folding a graph of just those nodes (the reference kernels, as constant
 * folding does) gives each theta' with the numbers the unmerged graph computes.
 */
function mergeSubspace(g: Graph, records: Extract<MergeRecord, { method: "subspace" }>[]): void {
  const want = new Set(records.map((m) => m.result));
  const need = new Set(want);
  const cone: Graph["nodes"] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (!n.outputs.some((o) => need.has(o))) continue;
    cone.unshift(n);
    for (const x of n.inputs) if (x) need.add(x);
  }
  const sub = emptyGraph(`${g.name}.subspace`);
  sub.nodes = cone.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs] }));
  for (const x of need) {
    const t = g.initializers.get(x);
    if (t) sub.initializers.set(x, t);
  }
  for (const [k, t] of g.types) sub.types.set(k, t);
  foldConstants(sub, { mode: "eval" });
  for (const m of records) {
    const t = sub.initializers.get(m.result);
    if (!t) {
      throw new DlmError(
        error(...diag("DLM0511", `subspace '${m.adapter}': ${m.weight} + P z did not fold`)),
      );
    }
    f32(g, m.weight, "weight");
    g.initializers.set(m.weight, t);
  }
}

function mergeIa3(g: Graph, m: Extract<MergeRecord, { method: "ia3_out" | "ia3_in" }>): void {
  const w = f32(g, m.weight, "weight");
  const l = f32(g, m.vector, "IA3 vector").data as Float32Array;
  const W = new Float32Array(w.data as Float32Array);
  const out = w.shape[0] | 0;
  const cols = (W.length / out) | 0;
  if (m.method === "ia3_out") {
    // The scale of each output row: l's entries over the enabled parts, 1 elsewhere.
    const parts = m.parts ?? [true];
    const part = (out / parts.length) | 0;
    const scale = new Float32Array(out).fill(1);
    let k = 0;
    parts.forEach((on, slot) => {
      if (!on) return;
      scale.set(l.subarray(k * part, (k + 1) * part), slot * part);
      k++;
    });
    for (let o = 0; o < out; o++) for (let c = 0; c < cols; c++) W[o * cols + c] *= scale[o];
    if (m.bias) {
      const bt = f32(g, m.bias, "bias");
      const bv = new Float32Array(bt.data as Float32Array);
      for (let o = 0; o < out; o++) bv[o] *= scale[o];
      g.initializers.set(m.bias, f32Tensor(bt.shape, bv));
    }
  } else {
    // [out, in, kernel...]: column block i of each row scales by l[i].
    const inF = w.shape[1] | 0;
    const kernel = (cols / inF) | 0;
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < inF; i++) {
        for (let c = 0; c < kernel; c++) W[o * cols + i * kernel + c] *= l[i];
      }
    }
  }
  g.initializers.set(m.weight, f32Tensor(w.shape, W));
}
