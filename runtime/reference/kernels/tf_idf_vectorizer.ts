/**
 * TfIdfVectorizer: count, per row of X, the n-grams of the pool
 * (min_gram_length..max_gram_length tokens, taken every skip + 1 positions
 * for skip in 0..max_skip_count; 1-grams once), into
 * Y[ngram_indexes[i]]. Mode TF keeps counts, IDF gives weights[i] (or 1)
 * where the count is nonzero, TFIDF multiplies counts by weights.
 */
import type { Kernel } from "../kernel.ts";
import {
  attrInt,
  attrInts,
  attrString,
  attrStrings,
  input,
  kernelFail,
  kernelFailIf,
} from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const tfIdfVectorizer: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const minN = attrInt(attrs, "min_gram_length", 1), maxN = attrInt(attrs, "max_gram_length", 1);
  const maxSkip = attrInt(attrs, "max_skip_count", 0);
  const mode = attrString(attrs, "mode", "TF");
  const counts = attrInts(attrs, "ngram_counts") ?? [];
  const indexes = attrInts(attrs, "ngram_indexes") ?? [];
  const weights = attrInts(attrs, "weights");
  const pool: string[] = attrStrings(attrs, "pool_strings") ??
    (attrInts(attrs, "pool_int64s") ?? []).map(String);
  // Pool n-grams keyed by their tokens, with their n-gram number.
  const lookup = new Map<string, number>();
  let id = 0;
  counts.forEach((start, i) => {
    const n = i + 1, end = i + 1 < counts.length ? counts[i + 1] : pool.length;
    for (let p = start; p + n <= end; p += n) lookup.set(pool.slice(p, p + n).join("\u0000"), id++);
  });
  kernelFailIf(id !== indexes.length, `Expected ${id} ngram_indexes, found ${indexes.length}`);
  const width = Math.max(-1, ...indexes) + 1;
  const rows = x.shape.length === 2 ? x.shape[0] : 1;
  const C = x.shape[x.shape.length - 1] ?? numel(x.shape);
  const tokens = Array.from(x.data as ArrayLike<unknown>, String);
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    const tf = new Float64Array(width);
    const row = tokens.slice(r * C, (r + 1) * C);
    for (let n = minN; n <= maxN; n++) {
      for (let skip = 0; skip <= (n === 1 ? 0 : maxSkip); skip++) {
        const step = skip + 1;
        for (let s = 0; s + (n - 1) * step < row.length; s++) {
          const gram: string[] = [];
          for (let k = 0; k < n; k++) gram.push(row[s + k * step]);
          const hit = lookup.get(gram.join("\u0000"));
          if (hit !== undefined) tf[indexes[hit]]++;
        }
      }
    }
    for (let i = 0; i < indexes.length; i++) {
      const j = indexes[i], w = weights ? weights[i] : 1;
      const v = mode === "TF"
        ? tf[j]
        : mode === "IDF"
        ? (tf[j] > 0 ? w : 0)
        : mode === "TFIDF"
        ? tf[j] * w
        : kernelFail(`Unknown mode "${mode}"`);
      out[r * width + j] = v;
    }
  }
  return [{ dtype: "f32", shape: x.shape.length === 2 ? [rows, width] : [width], data: out }];
};
