/**
 * Inputs for `dlm run` and `dlm diff`: given .npy files, checked against the
 * graph's declared inputs, and seeded random data for the rest. Symbolic
 * dims take the sizes the user gives (`--dim N=4`), else those implied by
 * the given files, else 1.
 */
import type { Graph } from "../compiler/ir/graph.ts";
import { formatType } from "../compiler/ir/graph.ts";
import { type DType, isFloat, numel, type Tensor, zeros } from "../compiler/ir/tensor.ts";
import { diag, fail } from "../compiler/diagnostics.ts";
import { Rng } from "../compiler/ir/rng.ts";
import { readNpy } from "./formats/mod.ts";
import { readFileOrFail } from "./fs.ts";

export interface InputOptions {
  /** NAME=PATH.npy pairs. */
  files?: string[];
  seed?: number;
  dims?: Record<string, number>;
  /** Range of random integer inputs, [low, high). */
  intRange?: [number, number];
}

export function prepareInputs(graph: Graph, opts: InputOptions = {}): Record<string, Tensor> {
  const given = new Map<string, Tensor>();
  for (const spec of opts.files ?? []) {
    const eq = spec.indexOf("=");
    if (eq <= 0) fail(...diag("DLM0501", "--input", "NAME=PATH.npy", `'${spec}'`));
    const name = spec.slice(0, eq), path = spec.slice(eq + 1);
    if (!graph.inputs.some((i) => i.name === name)) {
      fail(...diag("DLM0418", `'${name}'`, graph.inputs.map((i) => `'${i.name}'`).join(", ")));
    }
    given.set(name, readNpy(readFileOrFail(path, "input file"), path));
  }
  const dims: Record<string, number> = { ...(opts.dims ?? {}) };
  // Bind symbolic dims from the files given.
  for (const inp of graph.inputs) {
    const t = given.get(inp.name);
    if (!t) continue;
    if (t.dtype !== inp.type.dtype) {
      fail(...diag("DLM0411", inp.name, formatType(inp.type), `${formatType(t)} in the file`));
    }
    if (t.shape.length !== inp.type.shape.length) {
      fail(...diag("DLM0411", inp.name, formatType(inp.type), `${formatType(t)} in the file`));
    }
    inp.type.shape.forEach((d, i) => {
      if (typeof d === "number") {
        if (d !== t.shape[i]) {
          fail(
            ...diag(
              "DLM0411",
              inp.name,
              formatType(inp.type),
              `${formatType(t)} in the file: dim ${i} differs`,
            ),
          );
        }
      } else if (dims[d] !== undefined && dims[d] !== t.shape[i]) {
        fail(
          ...diag(
            "DLM0411",
            inp.name,
            `${d} = ${dims[d]} (set by another input or --dim)`,
            `${d} = ${t.shape[i]}`,
          ),
        );
      } else dims[d] = t.shape[i];
    });
  }
  const seed = opts.seed ?? 0;
  const bounds = indexBounds(graph);
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

/** For inputs used as Gather indices into a constant table: the table's length (the smallest). */
function indexBounds(graph: Graph): Map<string, number> {
  const inputs = new Set(graph.inputs.map((i) => i.name));
  const out = new Map<string, number>();
  for (const n of graph.nodes) {
    if (n.op !== "Gather" || !inputs.has(n.inputs[1])) continue;
    const table = graph.initializers.get(n.inputs[0]);
    if (!table) continue;
    const axis = typeof n.attrs.axis === "number" ? n.attrs.axis : 0;
    const len = table.shape[axis < 0 ? axis + table.shape.length : axis];
    out.set(n.inputs[1], Math.min(len, out.get(n.inputs[1]) ?? Infinity));
  }
  return out;
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
