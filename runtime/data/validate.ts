/**
 * Data against what a model reads, checked before a run: each batch input's
 * data must have the dtype and the per-sample shape its graph input declares,
 * symbolic dims must agree across arrays, and an input read as indices must
 * hold integers in range. A failure names the file, the column or array, the
 * line or index and the value; unchecked, onnxruntime fails with a message
 * that names none of them ("GatherElements op: Out of range value in index
 * tensor"), or, worse, reads a label of -1 as the last class, as ONNX's
 * gathers count a negative index from the end.
 *
 * What an input's values must be comes from the graph (InputNeed,
 * compiler/ir/graph.ts): declared by the built-ins that read it
 * (`cross_entropy` reads class indices in 0..C-1 or its ignore_index,
 * `embedding` ids within its table), and found at the gathers of a graph
 * without declarations (an ONNX file) whose indices are an input's values.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import {
  formatType,
  type Graph,
  type InputNeed,
  type Node,
  type TensorType,
} from "../../compiler/ir/graph.ts";
import { getNumber, isInteger, type Tensor } from "../../compiler/ir/tensor.ts";
import { type DataOrigin, type Dataset, describeElement } from "./dataset.ts";

/** Ops whose output holds their first input's values, only arranged otherwise. */
const MOVES_VALUES = new Set(["Identity", "Reshape", "Squeeze", "Unsqueeze", "Flatten"]);

/** Gathers and scatters: their index operand and the axis it indexes. */
const INDEXING: Record<string, { indices: number; data: number }> = {
  Gather: { indices: 1, data: 0 },
  GatherElements: { indices: 1, data: 0 },
  ScatterElements: { indices: 1, data: 0 },
};

/**
 * What a graph needs of its inputs' values: the built-ins' declarations, and for gathers whose
 * indices are an input's values (through reshapes, and into a Scan's body), ONNX's range
 * -n..n-1 of the axis they index.
 */
export function inputNeeds(g: Graph): InputNeed[] {
  const out = [...(g.needs ?? [])];
  for (const n of found(g)) {
    if (!out.some((x) => x.input === n.input && x.by === n.by)) out.push(n);
  }
  return out;
}

function found(g: Graph): InputNeed[] {
  const producers = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producers.set(o, n);
  const inputs = new Set(g.inputs.map((i) => i.name));
  const source = (v: string): string | undefined => {
    for (let p = producers.get(v); p && MOVES_VALUES.has(p.op); p = producers.get(v)) {
      v = p.inputs[0];
    }
    return inputs.has(v) ? v : undefined;
  };
  const typeOf = (v: string): TensorType | undefined =>
    g.types.get(v) ?? g.inputs.find((i) => i.name === v)?.type ??
      (g.initializers.get(v) as TensorType | undefined);
  const out: InputNeed[] = [];
  for (const n of g.nodes) {
    const io = INDEXING[n.op];
    if (io) {
      const input = source(n.inputs[io.indices]);
      const data = typeOf(n.inputs[io.data]);
      if (!input || !data) continue;
      const rank = data.shape.length;
      const raw = typeof n.attrs.axis === "number" ? n.attrs.axis : 0;
      const len = data.shape[raw < 0 ? raw + rank : raw];
      if (typeof len !== "number") continue;
      out.push({
        input,
        what: "index",
        by: `${n.op} node '${n.name}' (axis ${raw} of size ${len})`,
        min: -len,
        max: len - 1,
        span: n.spans?.[0],
      });
    } else if (n.op === "Scan" && n.attrs.body && typeof n.attrs.body === "object") {
      // A multi-step model: the body's scan inputs are slices of the Scan's inputs.
      const body = n.attrs.body as Graph;
      for (const need of found(body)) {
        const j = body.inputs.findIndex((i) => i.name === need.input);
        const input = j >= 0 ? source(n.inputs[j]) : undefined;
        if (input) out.push({ ...need, input });
      }
    }
  }
  return out;
}

/** How the data for one input is described: `d.csv, column 64`, `ids.npy`. */
function originText(o: DataOrigin | undefined): string {
  if (!o) return "";
  const c = o.columns;
  if (!c) return ` (from ${o.file})`;
  const cols = c.length === 1 ? `column ${c[0]}` : `columns ${c[0]}..${c[c.length - 1]}`;
  return ` (from ${o.file}, ${cols})`;
}

/** `0..9`, or `integers` for a need without a known range. */
function rangeText(n: InputNeed): string {
  return n.min !== undefined && n.max !== undefined ? `${n.min}..${n.max}` : "integers";
}

/** "class index" -> "class indices", "id" -> "ids". */
function plural(what: string): string {
  return what.endsWith("index") ? what.slice(0, -5) + "indices" : what + "s";
}

function needNotes(n: InputNeed, input: string): string[] {
  const where = n.span ? ` at ${n.span.file}:${n.span.line}:${n.span.col}` : "";
  const notes = [`${n.by}${where} reads input '${input}' as ${plural(n.what)}`];
  for (const [v, why] of n.also ?? []) notes.push(`${n.by} also accepts ${v}, ${why}`);
  return notes;
}

/** Options of `checkData`. */
export interface CheckOptions {
  /** The model, for messages: "The step model". */
  what: string;
  /** The inputs the data feeds (the model's batch inputs). */
  names: string[];
  /** The model takes each batch input with a leading axis of stacked batches (multi-step). */
  stacked?: boolean;
  /** Samples per batch: an input whose first dim is a number takes batches of that size. */
  batchSize?: number;
  /** The last, smaller batch is left out (`--drop-last`): only full batches are formed. */
  dropLast?: boolean;
}

/**
 * Check a data set against what a model reads (see the module comment): DLM0423 for data of
 * another dtype or shape, DLM0461 for an index that is not an integer, DLM0460 for one out of
 * range. Symbolic dims are bound across the arrays (a `T` of two inputs is one size); returns
 * those bindings (not the batch dim's, which is the batch size).
 */
export function checkData(g: Graph, data: Dataset, opts: CheckOptions): Record<string, number> {
  const needs = inputNeeds(g);
  const sizes: Record<string, { size: number; by: string }> = {};
  for (const name of opts.names) {
    const input = g.inputs.find((i) => i.name === name);
    const t = data.arrays[name];
    if (!input || !t) continue;
    const type: TensorType = opts.stacked
      ? { dtype: input.type.dtype, shape: input.type.shape.slice(1) }
      : input.type;
    checkArray(name, t, type, needs.filter((n) => n.input === name), data.origins[name], {
      what: opts.what,
      sizes,
      batchSize: opts.batchSize,
      dropLast: opts.dropLast,
    });
  }
  return Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, v.size]));
}

/**
 * Check one array of samples (axis 0) against an input's type and needs, for `checkData`:
 * `sizes` collects the symbolic dims bound so far, by the array that bound them.
 */
function checkArray(
  name: string,
  t: Tensor,
  type: TensorType,
  needs: InputNeed[],
  origin: DataOrigin | undefined,
  opts: {
    what: string;
    sizes: Record<string, { size: number; by: string }>;
    batchSize?: number;
    dropLast?: boolean;
  },
): void {
  const input = `${opts.what}'s input '${name}'${originText(origin)}`;
  const index = needs[0];
  if (t.dtype !== type.dtype) {
    if (index && !isInteger(t.dtype) && t.dtype !== "str" && t.dtype !== "bool") {
      // Indices given as floats: the first that is not an integer is the better message.
      for (let i = 0; i < t.data.length; i++) {
        const v = getNumber(t, i);
        if (!Number.isInteger(v)) {
          fail(
            ...diag("DLM0461", describeElement(name, t.shape, i, origin), index.what, v),
            undefined,
            needNotes(index, name),
          );
        }
      }
    }
    const hint = origin?.columns && isInteger(type.dtype) !== isInteger(t.dtype)
      ? `; read the column${
        origin.columns.length > 1 ? "s" : ""
      } as ${type.dtype}: ${name}=${origin.file}${
        origin.select ? `:${origin.select}` : ""
      }@${type.dtype}`
      : "";
    fail(
      ...diag(
        "DLM0423",
        input,
        `${type.dtype} values${index ? ` (${plural(index.what)} for ${index.by})` : ""}`,
        `${t.dtype}${hint}`,
      ),
    );
  }
  // Per sample: the shape without the batch dim.
  const per = type.shape.slice(1);
  const got = t.shape.slice(1);
  const shapeError = (why: string): never => {
    const want = `${formatType(type)}: ${
      per.length === 0 ? "one value" : `values [${per.join(", ")}]`
    } per sample`;
    const hint = per.length === 0 && origin?.columns?.length === 1 && t.shape.length === 2
      ? `; select one column without a range for one value per sample${
        origin.select ? ` (${name}=${origin.file}:${origin.select.replace(/-.*/, "")})` : ""
      }`
      : "";
    const each = `${got.length ? `values [${got.join(", ")}]` : "one value"} per sample`;
    fail(...diag("DLM0423", input, want, `${each}${why}${hint}`));
  };
  if (got.length !== per.length) shapeError("");
  const fixed = type.shape[0];
  if (opts.batchSize !== undefined && typeof fixed === "number") {
    // A model of a fixed batch size takes every batch at that size, the last one included.
    // With dropLast only full batches are formed (none when the data is smaller than one).
    const samples = t.shape[0];
    const last = samples % opts.batchSize;
    const sizes = opts.dropLast ? (samples >= opts.batchSize ? [opts.batchSize] : []) : [
      Math.min(opts.batchSize, samples),
      ...(last && samples > opts.batchSize ? [last] : []),
    ];
    const bad = sizes.find((n) => n !== fixed);
    if (bad !== undefined) {
      // The last batch alone is off: leaving it out is the fix torch users know.
      const lastOnly = bad === last && samples > opts.batchSize && opts.batchSize === fixed;
      shapeError(
        ` in batches of ${bad}${bad === last ? ` (the last of ${samples} samples)` : ""}, but the` +
          ` model takes batches of ${fixed} alone` +
          (lastOnly ? "; leave the last batch out with --drop-last (drop_last = true)" : ""),
      );
    }
  }
  per.forEach((d, k) => {
    const n = got[k];
    if (typeof d === "number") {
      if (d !== n) shapeError(`: dim ${k + 1} is ${n}, not ${d}`);
      return;
    }
    const seen = opts.sizes[d];
    if (seen && seen.size !== n) shapeError(`: ${d} is ${n} here but ${seen.size} in ${seen.by}`);
    opts.sizes[d] ??= { size: n, by: `'${name}'` };
  });
  for (const need of needs) checkValues(name, t, need, origin);
}

/** The first value of an integer array outside what `need` accepts raises DLM0460. */
export function checkValues(name: string, t: Tensor, need: InputNeed, origin?: DataOrigin): void {
  if (need.min === undefined || need.max === undefined || !isInteger(t.dtype)) return;
  const { min, max } = need;
  const also = new Set((need.also ?? []).map(([v]) => v));
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    const v = Number(d[i]);
    if ((v < min || v > max) && !also.has(v)) {
      fail(
        ...diag(
          "DLM0460",
          describeElement(name, t.shape, i, origin),
          need.what,
          v,
          rangeText(need),
          need.by,
        ),
        undefined,
        needNotes(need, name),
      );
    }
  }
}
