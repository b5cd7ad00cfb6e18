/**
 * A dataset of aligned arrays (one row per sample along the first axis):
 * seeded shuffling, batching (the last partial batch is kept) and a seeded,
 * optionally stratified, validation split.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import { formatType } from "../../compiler/ir/graph.ts";
import { allocData, numel, type Tensor, type TensorData } from "../../compiler/ir/tensor.ts";
import { makeRng } from "../reference/random.ts";

/** One batch: its rows' tensors by name. */
export interface Batch {
  /** 0-based batch number within the epoch. */
  index: number;
  /** Number of samples (the last batch may be smaller). */
  size: number;
  arrays: Record<string, Tensor>;
  /** The samples it holds, by their number in the data set. */
  rows: number[];
}

/** Options of `Dataset.batches`. */
export interface BatchOptions {
  /** Shuffle the sample order (default true). */
  shuffle?: boolean;
  /** Seed of the order; a different one per epoch gives a different order (default 0). */
  seed?: number;
  /**
   * Leave out the last batch when it is smaller than the others (torch's
   * `DataLoader(drop_last=True)`): a model of a fixed batch size takes no other.
   */
  dropLast?: boolean;
}

/** Options of `Dataset.split`. */
export interface SplitOptions {
  seed?: number;
  /** Name of an integer label array: keep each class's share in both parts. */
  stratify?: string;
}

/**
 * A seeded permutation of 0..n-1 (Fisher–Yates over mulberry32): the same
 * seed gives the same order on every machine.
 */
export function permutation(n: number, seed: number): number[] {
  const rng = makeRng(seed);
  const p = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** The rows `indices` of `t`, in that order. */
export function takeRows(t: Tensor, indices: readonly number[]): Tensor {
  const row = numel(t.shape.slice(1));
  const shape = [indices.length, ...t.shape.slice(1)];
  if (Array.isArray(t.data)) {
    const data: string[] = [];
    for (const i of indices) data.push(...t.data.slice(i * row, (i + 1) * row));
    return { dtype: t.dtype, shape, data };
  }
  const src = t.data as Exclude<TensorData, string[]>;
  const data = allocData(t.dtype, indices.length * row) as typeof src;
  indices.forEach((i, k) => (data as any).set(src.subarray(i * row, (i + 1) * row), k * row));
  return { dtype: t.dtype, shape, data };
}

/**
 * Where an array's values came from, so that a message about one value can
 * name its file, column and line (runtime/data/validate.ts).
 */
export interface DataOrigin {
  /** The file as the user named it (`digits` for the bundled set). */
  file: string;
  /** A CSV file: how messages name the column at each position of a row ("'label'", "64"). */
  columns?: string[];
  /** A CSV file: the column selector as given (`0-63`, `label`). */
  select?: string;
  /** A CSV file: the 1-based line of each of its rows. */
  lines?: Int32Array;
  /** The file's row that each sample is, after `take` and `split`; absent: sample i is row i. */
  rows?: Int32Array;
}

/**
 * Where element `flat` of the array `name` (of `shape`, samples along axis 0) came from:
 * `d.csv:18: column 'label'` (a CSV file's line and column), `ids.npy[3, 17]` (a .npy file's
 * index), or `'label'[16]` when nothing is known of its origin.
 */
export function describeElement(
  name: string,
  shape: readonly number[],
  flat: number,
  origin?: DataOrigin,
): string {
  const index: number[] = [];
  let rest = flat;
  for (let a = shape.length - 1; a >= 0; a--) {
    const d = Math.max(shape[a], 1);
    index.unshift(rest % d);
    rest = Math.floor(rest / d);
  }
  if (origin && index.length) index[0] = origin.rows ? origin.rows[index[0]] : index[0];
  if (origin?.lines) {
    const within = shape.length > 1 ? index[index.length - 1] : 0;
    const column = origin.columns?.[within];
    return `${origin.file}:${origin.lines[index[0]]}${column ? `: column ${column}` : ""}`;
  }
  return `${origin ? origin.file : `'${name}'`}[${index.join(", ")}]`;
}

/**
 * Where samples `rows` of a data set came from, for a message about a batch that failed:
 * `d.csv lines 5, 17, 40 and 13 more`, or `samples 4, 16, 39 and 13 more` when nothing is known.
 */
export function describeRows(
  rows: readonly number[],
  origins: Readonly<Record<string, DataOrigin>>,
): string {
  const o = Object.values(origins).find((x) => x.lines) ?? Object.values(origins)[0];
  const shown = rows.slice(0, 3).map((r) => {
    const row = o?.rows ? o.rows[r] : r;
    return o?.lines ? o.lines[row] : row;
  });
  const more = rows.length > 3 ? ` and ${rows.length - 3} more` : "";
  const what = o?.lines
    ? `${o.file} line${rows.length > 1 ? "s" : ""}`
    : o
    ? `${o.file} row${rows.length > 1 ? "s" : ""}`
    : `sample${rows.length > 1 ? "s" : ""}`;
  return `${what} ${shown.join(", ")}${more}`;
}

export class Dataset {
  /** Arrays by name, each with `size` rows. */
  readonly arrays: Readonly<Record<string, Tensor>>;
  /** Number of samples. */
  readonly size: number;
  /** Where each array came from, when it was read from a file (load.ts). */
  readonly origins: Readonly<Record<string, DataOrigin>>;

  /**
   * Check that the arrays share their first dimension; a scalar or a
   * disagreeing array raises DLM0423 naming every array's type.
   */
  constructor(arrays: Record<string, Tensor>, origins: Record<string, DataOrigin> = {}) {
    const names = Object.keys(arrays);
    if (names.length === 0) fail(...diag("DLM0423", "A data set", "at least one array", "none"));
    // Each array with the file it came from: a message about data says which file to look at.
    const list = names.map((n) =>
      `'${n}'${origins[n] ? ` (${origins[n].file})` : ""} is ${formatType(arrays[n])}`
    ).join(", ");
    for (const n of names) {
      if (arrays[n].shape.length === 0) {
        fail(...diag("DLM0423", "A data set", "arrays with a sample axis", `a scalar: ${list}`));
      }
    }
    const size = arrays[names[0]].shape[0];
    if (names.some((n) => arrays[n].shape[0] !== size)) {
      fail(
        ...diag(
          "DLM0423",
          "A data set",
          "arrays with the same number of samples (first dim)",
          list,
        ),
      );
    }
    this.arrays = arrays;
    this.size = size;
    this.origins = origins;
  }

  /** " (from a.npy, b.npy)": the files of the arrays, for messages; "" when none is known. */
  fromFiles(): string {
    const files = [...new Set(Object.values(this.origins).map((o) => o.file))];
    return files.length ? ` (from ${files.join(", ")})` : "";
  }

  get names(): string[] {
    return Object.keys(this.arrays);
  }

  /** The samples `indices`, in that order, as a new dataset. */
  take(indices: readonly number[]): Dataset {
    const out: Record<string, Tensor> = {};
    for (const [n, t] of Object.entries(this.arrays)) out[n] = takeRows(t, indices);
    const origins: Record<string, DataOrigin> = {};
    for (const [n, o] of Object.entries(this.origins)) {
      const rows = o.rows;
      origins[n] = { ...o, rows: Int32Array.from(indices, (i) => rows ? rows[i] : i) };
    }
    return new Dataset(out, origins);
  }

  /** Number of batches of `batchSize` (the last may be partial, or left out with `dropLast`). */
  batchCount(batchSize: number, dropLast = false): number {
    return (dropLast ? Math.floor : Math.ceil)(this.size / batchSize);
  }

  /** The batches of one pass over the data, in a seeded shuffled order or in file order. */
  *batches(batchSize: number, opts: BatchOptions = {}): Generator<Batch> {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      fail(...diag("DLM0210", "Batching", "a positive integer batch size", batchSize));
    }
    const order = opts.shuffle === false
      ? [...Array(this.size).keys()]
      : permutation(this.size, opts.seed ?? 0);
    const end = opts.dropLast ? this.size - this.size % batchSize : this.size;
    for (let b = 0, start = 0; start < end; b++, start += batchSize) {
      const idx = order.slice(start, start + batchSize);
      const arrays: Record<string, Tensor> = {};
      for (const [n, t] of Object.entries(this.arrays)) arrays[n] = takeRows(t, idx);
      yield { index: b, size: idx.length, arrays, rows: idx };
    }
  }

  /**
   * Split off a validation part of `fraction` of the samples (rounded, at
   * least one when fraction > 0), chosen by a seeded shuffle. With
   * `stratify`, each class of that integer array is split on its own so both
   * parts keep the class shares. Both parts keep the original sample order.
   */
  split(fraction: number, opts: SplitOptions = {}): { train: Dataset; val: Dataset } {
    if (!(fraction > 0 && fraction < 1)) {
      fail(
        ...diag(
          "DLM0210",
          "A validation split",
          "a fraction between 0 and 1 (exclusive)",
          fraction,
        ),
      );
    }
    const seed = opts.seed ?? 0;
    const groups: number[][] = [];
    if (opts.stratify !== undefined) {
      const t = this.arrays[opts.stratify];
      if (!t) {
        fail(
          ...diag(
            "DLM0423",
            "Stratifying",
            `a data array '${opts.stratify}'`,
            `arrays ${this.names.map((n) => `'${n}'`).join(", ")}`,
          ),
        );
      }
      if (t.shape.length !== 1) {
        fail(
          ...diag(
            "DLM0423",
            "Stratifying",
            "a 1-D label array",
            `'${opts.stratify}' of ${formatType(t)}`,
          ),
        );
      }
      const byClass = new Map<string, number[]>();
      for (let i = 0; i < this.size; i++) {
        const k = String(t.data[i]);
        if (!byClass.has(k)) byClass.set(k, []);
        byClass.get(k)!.push(i);
      }
      groups.push(...byClass.values());
    } else groups.push([...Array(this.size).keys()]);
    const val: number[] = [];
    groups.forEach((g, k) => {
      const p = permutation(g.length, seed * 7919 + k);
      const n = Math.max(1, Math.round(g.length * fraction));
      for (const i of p.slice(0, Math.min(n, g.length - 1))) val.push(g[i]);
    });
    const inVal = new Set(val);
    if (inVal.size === 0 || inVal.size === this.size) {
      fail(
        ...diag(
          "DLM0210",
          `A validation split of ${this.size} samples${this.fromFiles()}`,
          "a fraction that leaves both parts non-empty",
          fraction,
        ),
      );
    }
    const train = [...Array(this.size).keys()].filter((i) => !inVal.has(i));
    return { train: this.take(train), val: this.take([...inVal].sort((a, b) => a - b)) };
  }
}
