/**
 * Stages of a training run: computations over the data set between epochs whose results the
 * next updates read, as a train section declares them (`input pseudo: i64[N] from kmeans(...)`,
 * spec/language.md 11). The loop (loop.ts) runs each before the epochs it is due, with the
 * weights as they are then, and trains on the data it returns.
 *
 * The one stage so far is deep clustering's (Caron et al., 2018): the model's value `x` ([N, F])
 * over every training row, clustered by k-means (runtime/eval/kmeans.ts, k-means++ seeded by the
 * run's seed and the epoch), each row's cluster fed as the input. Cluster numbers are arbitrary:
 * a new clustering's are matched to the previous one's (the Hungarian method on their
 * contingency table, most rows keeping their number), so that the head the pseudo-labels train
 * keeps its meaning from one clustering to the next. Validation rows take their nearest centre.
 */
import { diag, DlmError, error, type SourceMap } from "../../compiler/diagnostics.ts";
import type { Graph } from "../../compiler/ir/graph.ts";
import { type Tensor, tensor } from "../../compiler/ir/tensor.ts";
import type { CompiledStage } from "../../compiler/train/mod.ts";
import { Dataset } from "../data/mod.ts";
import { kmeans } from "../eval/kmeans.ts";
import { clusteringAccuracy, minCostAssignment, normalizedMutualInfo } from "../eval/clustering.ts";
import { loadModel } from "./model.ts";
import { type Backend, openRunner, type Runner } from "./runner.ts";

/** What the loop asks of a stage. */
export interface DataStage {
  /** Due before every `every`-th epoch (counting from 0), and before a run's first epoch. */
  every: number;
  /**
   * The data for the next epochs, and figures for the epoch's record (`<input>_nmi`, ...).
   * `weights` are the parameters and buffers by name as they are now.
   */
  run(
    epoch: number,
    weights: Map<string, Tensor>,
    data: Dataset,
    val?: Dataset,
  ): Promise<{ data: Dataset; val?: Dataset; values: Record<string, number> }>;
  release(): Promise<void>;
}

/** Rows a stage's model takes at a time. */
const CHUNK = 256;

/** The stage model's output over every row of `data`, as [n, F] f64 rows. */
async function features(
  runner: Runner,
  g: Graph,
  weights: Map<string, Tensor>,
  data: Dataset,
): Promise<{ x: Float64Array; d: number }> {
  const out = g.outputs[0].name;
  const d = g.outputs[0].type.shape[1] as number;
  const x = new Float64Array(data.size * d);
  let at = 0;
  for (const b of data.batches(CHUNK, { shuffle: false })) {
    const feeds: Record<string, Tensor> = {};
    for (const i of g.inputs) {
      const t = weights.get(i.name) ?? b.arrays[i.name];
      if (t) feeds[i.name] = t;
    }
    const r = await runner.run(feeds);
    const v = r[out].data as Float32Array;
    for (let k = 0; k < v.length; k++) x[at + k] = v[k];
    at += v.length;
  }
  return { x, d };
}

/**
 * DLM0317 at the kmeans(...) call when a row of the clustered value is NaN or infinite: k-means
 * has no nearest centre for it (every distance to it is NaN), and k-means++ would draw it with a
 * NaN probability. NaN data, or weights a run has driven to NaN, give such rows.
 */
function checkFinite(
  st: CompiledStage,
  x: Float64Array,
  d: number,
  rows: string,
  epoch: number,
  sources?: SourceMap,
): void {
  const at = x.findIndex((v) => !Number.isFinite(v));
  if (at < 0) return;
  const what = Number.isNaN(x[at]) ? "NaN" : "infinite";
  throw new DlmError(
    [error(...diag("DLM0317", st.source, Math.floor(at / d), rows, what, epoch + 1), st.span)],
    sources,
  );
}

/** Each row's nearest centre ([k * d] centres). */
function nearest(x: Float64Array, d: number, centers: Float64Array, k: number): Int32Array {
  const n = x.length / d;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += (x[i * d + t] - centers[j * d + t]) ** 2;
      if (s < best) best = s, out[i] = j;
    }
  }
  return out;
}

/**
 * The permutation of new cluster numbers that keeps the most rows on their previous number:
 * perm[new] = old, from the Hungarian method on the k x k overlap counts.
 */
export function alignClusters(prev: Int32Array, next: Int32Array, k: number): Int32Array {
  const overlap = Array.from({ length: k }, () => new Float64Array(k));
  for (let i = 0; i < next.length; i++) overlap[next[i]][prev[i]]--;
  return Int32Array.from(minCostAssignment(overlap));
}

/** A k-means stage, with its model run on `backend`. Errors name the kmeans(...) call. */
export function kmeansStage(
  st: CompiledStage,
  backend: Backend,
  seed: number,
  sources?: SourceMap,
): DataStage {
  let runner: Runner | undefined;
  let prev: Int32Array | undefined;
  const name = st.input;
  return {
    every: st.every,
    async run(epoch, weights, data, val) {
      if (st.k > data.size) {
        throw new DlmError(
          [error(...diag("DLM0728", st.k, data.size, " (the training rows)"), st.kSpan)],
          sources,
        );
      }
      runner ??= await openRunner(loadModel(st.graph, "stage model"), backend, {
        kind: "forward",
        spin: false,
      });
      const { x, d } = await features(runner, st.graph, weights, data);
      checkFinite(st, x, d, "training rows", epoch, sources);
      const r = kmeans(x, data.size, d, st.k, {
        seed: (seed * 100003 + epoch) >>> 0,
        maxIter: st.iterations,
      });
      let labels = r.labels, centers = r.centers;
      if (prev) {
        // Renumber: new cluster c becomes perm[c], its centre moving with it.
        const perm = alignClusters(prev, labels, st.k);
        labels = labels.map((c) => perm[c]);
        centers = new Float64Array(centers.length);
        for (let c = 0; c < st.k; c++) {
          centers.set(r.centers.subarray(c * d, (c + 1) * d), perm[c] * d);
        }
      }
      let changed = data.size;
      if (prev) {
        changed = 0;
        for (let i = 0; i < labels.length; i++) if (labels[i] !== prev[i]) changed++;
      }
      prev = labels;
      const values: Record<string, number> = {
        [`${name}_changed`]: changed / data.size,
        [`${name}_inertia`]: r.inertia / data.size,
      };
      if (st.classes && data.arrays[st.classes]) {
        const y = Array.from(data.arrays[st.classes].data as BigInt64Array, Number);
        values[`${name}_nmi`] = normalizedMutualInfo(y, labels);
        values[`${name}_accuracy`] = clusteringAccuracy(y, labels);
      }
      const withLabels = (ds: Dataset, l: ArrayLike<number>) =>
        new Dataset(
          { ...ds.arrays, [name]: tensor("i64", [ds.size], Array.from(l)) },
          ds.origins,
        );
      let nextVal: Dataset | undefined;
      if (val) {
        const fv = await features(runner, st.graph, weights, val);
        checkFinite(st, fv.x, d, "validation rows", epoch, sources);
        nextVal = withLabels(val, nearest(fv.x, d, centers, st.k));
      }
      return { data: withLabels(data, labels), val: nextVal, values };
    },
    async release() {
      await runner?.release();
      runner = undefined;
    },
  };
}
