/**
 * Inputs for `dlm run` and `dlm diff`: given .npy files, checked against the
 * graph's declared inputs, and seeded random data for the rest. Symbolic
 * dims take the sizes the user gives (`--dim N=4`), else those implied by
 * the given files, else 1.
 */
import type { Dim, Graph, TensorType } from "../compiler/ir/graph.ts";
import { formatType } from "../compiler/ir/graph.ts";
import { evalDim } from "../compiler/ops/dims.ts";
import { LIMITS } from "../compiler/check/limits.ts";
import { type DType, isFloat, numel, type Tensor, zeros } from "../compiler/ir/tensor.ts";
import { diag, fail } from "../compiler/diagnostics.ts";
import { Rng } from "../compiler/ir/rng.ts";
import { readNpy } from "./formats/mod.ts";
import { readFileOrFail } from "./fs.ts";
import { checkValues, inputNeeds } from "./data/validate.ts";
import { checkMemory, type MemoryBudget, memoryBudget } from "./memory.ts";

export interface InputOptions {
  /** NAME=PATH.npy pairs. */
  files?: string[];
  /** Inputs already read (the playground's uploaded .npy files), each named by its file. */
  tensors?: { name: string; file: string; tensor: Tensor }[];
  seed?: number;
  dims?: Record<string, number>;
  /** Range of random integer inputs, [low, high). */
  intRange?: [number, number];
  /** The option that set `dims`, for the size-limit message (default "--dim"). */
  dimsOption?: string;
  /** The run's memory budget (runtime/memory.ts; default from the environment and the machine). */
  memoryBudget?: MemoryBudget;
}

export function prepareInputs(graph: Graph, opts: InputOptions = {}): Record<string, Tensor> {
  const given = new Map<string, Tensor>();
  // Bind symbolic dims from the files given.
  const fileOf = new Map<string, string>();
  const supplied = [
    ...(opts.files ?? []).map((spec) => {
      const eq = spec.indexOf("=");
      if (eq <= 0) fail(...diag("DLM0501", "--input", "NAME=PATH.npy", `'${spec}'`));
      const name = spec.slice(0, eq), path = spec.slice(eq + 1);
      return { name, file: path, read: () => readNpy(readFileOrFail(path, "input file"), path) };
    }),
    ...(opts.tensors ?? []).map((t) => ({ ...t, read: () => t.tensor })),
  ];
  for (const { name, file, read } of supplied) {
    if (!graph.inputs.some((i) => i.name === name)) {
      fail(...diag("DLM0418", `'${name}'`, graph.inputs.map((i) => `'${i.name}'`).join(", ")));
    }
    given.set(name, read());
    fileOf.set(name, file);
  }
  const dims: Record<string, number> = { ...(opts.dims ?? {}) };
  for (const inp of graph.inputs) {
    const t = given.get(inp.name);
    if (!t) continue;
    const inFile = `in '${fileOf.get(inp.name)}'`;
    if (t.dtype !== inp.type.dtype || t.shape.length !== inp.type.shape.length) {
      fail(...diag("DLM0411", inp.name, formatType(inp.type), `${formatType(t)} ${inFile}`));
    }
    inp.type.shape.forEach((d, i) => {
      if (typeof d === "number") {
        if (d !== t.shape[i]) {
          fail(
            ...diag(
              "DLM0411",
              inp.name,
              formatType(inp.type),
              `${formatType(t)} ${inFile}: dim ${i} differs`,
            ),
          );
        }
      } else if (dims[d] !== undefined && dims[d] !== t.shape[i]) {
        fail(
          ...diag(
            "DLM0411",
            inp.name,
            `${d} = ${dims[d]} (set by another input or --dim)`,
            `${d} = ${t.shape[i]} ${inFile}`,
          ),
        );
      } else dims[d] = t.shape[i];
    });
  }
  // Unbound symbols of the inputs are 1; with them, no value the run computes may pass the size
  // limit: say so before drawing a random input of a trillion elements.
  const option = opts.dimsOption ?? "--dim";
  const origin: Record<string, string> = {};
  for (const k of Object.keys(dims)) {
    origin[k] = opts.dims?.[k] !== undefined ? `${option} ${k}=${dims[k]}` : `${k} = ${dims[k]}`;
  }
  for (const inp of graph.inputs) {
    for (const d of inp.type.shape) {
      if (typeof d === "string" && dims[d] === undefined && !given.has(inp.name)) {
        // 1, or the least size the model's indices assume of it (x[0:10] needs N >= 10).
        const least = Math.max(
          1,
          ...(graph.dimBounds ?? []).filter((b) => b.dim === d).map((b) => b.min),
        );
        dims[d] = least;
        origin[d] = least === 1
          ? `${d} = 1`
          : `${d} = ${least}, the least the model's indices assume`;
      }
    }
  }
  checkRunSizes(graph, dims, origin, { budget: opts.memoryBudget });
  // Values the graph reads as indices (token ids, class indices) must be in range: a file's are
  // checked, random ones drawn inside.
  const needs = inputNeeds(graph);
  for (const [name, path] of fileOf) {
    const t = given.get(name)!;
    for (const n of needs) if (n.input === name) checkValues(name, t, n, { file: path });
  }
  const seed = opts.seed ?? 0;
  const bounds = new Map<string, number>();
  for (const n of needs) {
    if (n.max !== undefined) {
      bounds.set(n.input, Math.min(n.max + 1, bounds.get(n.input) ?? Infinity));
    }
  }
  const out: Record<string, Tensor> = {};
  for (const inp of graph.inputs) {
    const t = given.get(inp.name);
    if (t) {
      out[inp.name] = t;
      continue;
    }
    // An input with a default value (an initializer, e.g. `--adapters inputs`) keeps it.
    if (graph.initializers.has(inp.name)) continue;
    const shape = inp.type.shape.map((d) => (typeof d === "number" ? d : dims[d] ?? 1));
    // Integer inputs that index a table (token ids, token types) stay inside it.
    const [lo, hi] = opts.intRange ?? [0, Math.min(10, bounds.get(inp.name) ?? 10)];
    out[inp.name] = randomTensor(
      inp.type.dtype,
      shape,
      Rng.forName(seed, `input:${inp.name}`),
      lo,
      hi,
    );
  }
  return out;
}

/**
 * The size limit (LIMITS.tensorElements, as at compile time) for the run-time shapes of a graph:
 * with its symbols sized by `sizes`, every input and every value whose shape those sizes fix
 * (subgraphs such as a multi-step Scan's body included) stays within it, or DLM0303 names the
 * first value over it and the sizes that made it so (`origin[symbol]`, e.g. "--dim N=1000000",
 * else "N = 1000000"). Then the whole run's memory (runtime/memory.ts) within `budget`, or
 * DLM0353. Called before anything of that size is allocated.
 */
/**
 * The sizes a run binds against what the model's indices assumed of its symbolic dims
 * (Graph.dimBounds: `x[0:10]` typed `[10, ...]` assumes N >= 10): DLM0256 at the index, before
 * onnxruntime clamps the slice to fewer rows than the type says or fails without a location.
 */
export function checkDimBounds(
  graph: Graph,
  sizes: Readonly<Record<string, number>>,
  origin: Readonly<Record<string, string>> = {},
): void {
  for (const b of graph.dimBounds ?? []) {
    const v = evalDim(b.dim, sizes);
    if (v === undefined || v >= b.min) continue;
    const why = Object.keys(sizes).filter((k) => String(b.dim).split(/[\s+\-*/(),]+/).includes(k))
      .map((k) => origin[k] ?? `${k} = ${sizes[k]}`).join(", ");
    fail(...diag("DLM0256", capitalise(b.what), b.dim, b.min, v, why || "its inputs"), b.span);
  }
}

function capitalise(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}

export function checkRunSizes(
  graph: Graph,
  sizes: Readonly<Record<string, number>>,
  origin: Readonly<Record<string, string>> = {},
  opts: { budget?: MemoryBudget; what?: string } = {},
): void {
  checkDimBounds(graph, sizes, origin);
  const cache = new Map<Dim, number | undefined>();
  const size = (d: Dim) => {
    if (!cache.has(d)) cache.set(d, evalDim(d, sizes));
    return cache.get(d);
  };
  // The symbols a shape mentions: a dim is a symbol or an expression over symbols.
  const symbols = (shape: Dim[]) => {
    const used = new Set(
      shape.flatMap((d) => typeof d === "string" ? d.split(/[\s+\-*/(),]+/) : []),
    );
    return Object.keys(sizes).filter((k) => used.has(k))
      .map((k) => origin[k] ?? `${k} = ${sizes[k]}`).join(", ");
  };
  // Each input and value against the element limit (named only when one exceeds it).
  const check = (t: TensorType, what: () => string) => {
    let n = 1;
    for (const d of t.shape) {
      const v = size(d);
      if (v === undefined) return;
      n *= Math.max(v, 0);
    }
    if (n > LIMITS.tensorElements) {
      const by = symbols(t.shape);
      fail(
        ...diag(
          "DLM0303",
          `${what()} ${formatType(t)}${by ? ` with ${by}` : ""}`,
          count(n),
          count(LIMITS.tensorElements),
        ),
      );
    }
  };
  const visit = (g: Graph) => {
    for (const i of g.inputs) check(i.type, () => `Input '${i.name}'`);
    for (const [k, t] of g.types) check(t, () => `The value '${k}'`);
    for (const node of g.nodes) {
      for (const key in node.attrs) {
        const a = node.attrs[key];
        if (a && typeof a === "object" && "nodes" in a) visit(a as Graph);
      }
    }
  };
  visit(graph);
  const by = Object.keys(sizes).map((k) => origin[k] ?? `${k} = ${sizes[k]}`).join(", ");
  const what = opts.what ?? (graph.name ? `The model '${graph.name}'` : "The model");
  checkMemory(graph, sizes, opts.budget ?? memoryBudget(), what, by);
}

/** 2,147,483,647 or, past a trillion, 7.8e+11 (the compiler's format for size limits). */
function count(n: number): string {
  return n < 1e12 ? n.toLocaleString("en-US") : n.toExponential(1);
}

function randomTensor(dtype: DType, shape: number[], rng: Rng, lo: number, hi: number): Tensor {
  const t = zeros(dtype, shape);
  const n = numel(shape);
  if (dtype === "f32" || dtype === "f64") {
    const d = t.data as Float32Array;
    for (let i = 0; i < n; i++) d[i] = rng.normal();
  } else if (isFloat(dtype)) {
    fail(...diag("DLM0421", dtype));
  } else if (dtype === "bool") {
    const d = t.data as Uint8Array;
    for (let i = 0; i < n; i++) d[i] = rng.uniform() < 0.5 ? 1 : 0;
  } else if (dtype === "str") {
    fail(...diag("DLM0421", dtype));
  } else {
    for (let i = 0; i < n; i++) {
      const v = lo + Math.floor(rng.uniform() * (hi - lo));
      if (t.data instanceof BigInt64Array) t.data[i] = BigInt(v);
      else if (t.data instanceof BigUint64Array) t.data[i] = BigInt(Math.max(0, v));
      else (t.data as Int32Array)[i] = v;
    }
  }
  return t;
}

/** One-line summary: shape, min, max, mean. */
export function summarize(t: Tensor): string {
  const shape = `${t.dtype}[${t.shape.join(", ")}]`;
  if (t.dtype === "str") return shape;
  let min = Infinity, max = -Infinity, sum = 0, n = 0;
  for (let i = 0; i < t.data.length; i++) {
    const v = Number(t.data[i]);
    if (Number.isNaN(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    n++;
  }
  const f = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(6)).toString() : String(v));
  return n ? `${shape}  min ${f(min)}  max ${f(max)}  mean ${f(sum / n)}` : `${shape}  (empty)`;
}
