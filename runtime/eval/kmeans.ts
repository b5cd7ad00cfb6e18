/**
 * k-means (Lloyd's algorithm) with k-means++ initialisation, seeded, with a fixed iteration
 * budget and empty clusters handled, for deep clustering's pseudo-labels and for clustering raw
 * data as its baseline. Rows of `x` are points; arithmetic is f64.
 *
 * Each iteration is one E-step and one M-step:
 *
 *   labels_i = argmin_j |x_i - c_j|^2          (ties: the lower j)
 *   c_j      = mean{x_i : labels_i = j}
 *
 * and stops early when the labels repeat (the centres are then a fixed point) or no centre moves.
 * A cluster left empty by the E-step takes, as scikit-learn's Lloyd does, the point farthest from
 * its own centre (the e-th empty cluster the e-th farthest point), which leaves its old cluster:
 * the objective sum |x_i - c_labels_i|^2 only falls, and k clusters stay k. After the last M-step
 * the labels are computed once more, so they are the final centres' (sklearn's last E-step).
 *
 * k-means++ (Arthur and Vassilvitskii, 2007), in scikit-learn's greedy form: the first centre is a
 * uniform draw; each next one is the best of 2 + floor(ln k) candidates drawn with probability
 * proportional to D(x)^2, the squared distance to the nearest centre so far, "best" being the
 * candidate that leaves the smallest sum of D^2. Tested against scikit-learn in kmeans_test.ts
 * (tests/fixtures/clustering/).
 */
import { Rng } from "../../compiler/ir/rng.ts";

export interface KMeansOptions {
  /** Most Lloyd iterations (default 100). */
  maxIter?: number;
  /** Seed of k-means++ (default 0). */
  seed?: number;
  /** Independent k-means++ starts; the lowest inertia wins (default 1). */
  nInit?: number;
  /** Start from these centres ([k][d]) instead of k-means++ (tests, warm starts). */
  init?: ArrayLike<number>[];
}

export interface KMeansResult {
  /** [k * d] row-major. */
  centers: Float64Array;
  /** The cluster of each point. */
  labels: Int32Array;
  /** Sum of squared distances to the assigned centres. */
  inertia: number;
  /** Lloyd iterations run. */
  iterations: number;
  /** Empty clusters relocated over the run. */
  relocated: number;
}

/** Squared distance between row i of x and row j of c (both d wide). */
function dist2(x: ArrayLike<number>, i: number, c: ArrayLike<number>, j: number, d: number) {
  let s = 0;
  for (let t = 0; t < d; t++) {
    const v = x[i * d + t] - c[j * d + t];
    s += v * v;
  }
  return s;
}

/** The E-step: each point's nearest centre, and that squared distance. */
function assign(
  x: ArrayLike<number>,
  n: number,
  d: number,
  c: Float64Array,
  k: number,
  labels: Int32Array,
  dists: Float64Array,
): void {
  for (let i = 0; i < n; i++) {
    let best = Infinity, arg = 0;
    for (let j = 0; j < k; j++) {
      const s = dist2(x, i, c, j, d);
      if (s < best) best = s, arg = j;
    }
    labels[i] = arg;
    dists[i] = best;
  }
}

/** k-means++ centres, scikit-learn's greedy variant, from `rng`. */
export function kmeansPlusPlus(
  x: ArrayLike<number>,
  n: number,
  d: number,
  k: number,
  rng: Rng,
): Float64Array {
  const c = new Float64Array(k * d);
  const take = (j: number, i: number) => {
    for (let t = 0; t < d; t++) c[j * d + t] = x[i * d + t];
  };
  take(0, Math.floor(rng.uniform() * n));
  const closest = new Float64Array(n);
  for (let i = 0; i < n; i++) closest[i] = dist2(x, i, c, 0, d);
  const trials = 2 + Math.floor(Math.log(k));
  for (let j = 1; j < k; j++) {
    let pot = 0;
    for (let i = 0; i < n; i++) pot += closest[i];
    let bestPot = Infinity, bestI = 0, bestD: Float64Array | undefined;
    for (let t = 0; t < trials; t++) {
      // A point with probability D^2 / sum D^2 (uniform when every point is a centre already).
      let r = rng.uniform() * pot, cand = n - 1;
      if (pot > 0) {
        for (let i = 0; i < n; i++) {
          r -= closest[i];
          if (r < 0) {
            cand = i;
            break;
          }
        }
      } else cand = Math.floor(rng.uniform() * n);
      const nd = new Float64Array(n);
      let p = 0;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let q = 0; q < d; q++) {
          const v = x[i * d + q] - x[cand * d + q];
          s += v * v;
        }
        nd[i] = Math.min(closest[i], s);
        p += nd[i];
      }
      if (p < bestPot) bestPot = p, bestI = cand, bestD = nd;
    }
    take(j, bestI);
    closest.set(bestD!);
  }
  return c;
}

/**
 * Cluster the n rows of `x` ([n * d]) into k clusters.
 *
 * @example
 * const r = kmeans(new Float32Array([0, 0, 0, 1, 9, 9, 9, 8]), 4, 2, 2, { seed: 1 });
 * // r.labels groups points 0, 1 and points 2, 3
 */
export function kmeans(
  x: ArrayLike<number>,
  n: number,
  d: number,
  k: number,
  opts: KMeansOptions = {},
): KMeansResult {
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new RangeError(`k-means needs 1 <= k <= ${n} (the points), got k = ${k}`);
  }
  // A NaN or infinite coordinate has no nearest centre (every distance to it is NaN).
  for (let i = 0; i < n * d; i++) {
    if (!Number.isFinite(x[i])) {
      throw new RangeError(`k-means needs finite points: point ${Math.floor(i / d)} is ${x[i]}`);
    }
  }
  const runs = opts.init ? 1 : Math.max(1, opts.nInit ?? 1);
  const rng = new Rng(opts.seed ?? 0);
  let best: KMeansResult | undefined;
  for (let r = 0; r < runs; r++) {
    let c: Float64Array;
    if (opts.init) {
      c = new Float64Array(k * d);
      opts.init.forEach((row, j) => {
        for (let t = 0; t < d; t++) c[j * d + t] = row[t];
      });
    } else c = kmeansPlusPlus(x, n, d, k, rng);
    const res = lloyd(x, n, d, k, c, opts.maxIter ?? 100);
    if (!best || res.inertia < best.inertia) best = res;
  }
  return best!;
}

function lloyd(
  x: ArrayLike<number>,
  n: number,
  d: number,
  k: number,
  c: Float64Array,
  maxIter: number,
): KMeansResult {
  const labels = new Int32Array(n), prev = new Int32Array(n).fill(-1);
  const dists = new Float64Array(n);
  let iterations = 0, relocated = 0;
  for (let it = 0; it < maxIter; it++) {
    assign(x, n, d, c, k, labels, dists);
    iterations++;
    // M-step: sums and counts, then the empty clusters, then the means.
    const sums = new Float64Array(k * d), counts = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const j = labels[i];
      counts[j]++;
      for (let t = 0; t < d; t++) sums[j * d + t] += x[i * d + t];
    }
    const empty: number[] = [];
    for (let j = 0; j < k; j++) if (counts[j] === 0) empty.push(j);
    if (empty.length) {
      // The farthest points from their own centres, farthest first (ties: the lower index).
      const far = Array.from({ length: n }, (_, i) => i)
        .sort((a, b) => dists[b] - dists[a] || a - b).slice(0, empty.length);
      empty.forEach((j, e) => {
        const i = far[e], old = labels[i];
        for (let t = 0; t < d; t++) {
          sums[old * d + t] -= x[i * d + t];
          sums[j * d + t] = x[i * d + t];
        }
        counts[old]--;
        counts[j] = 1;
      });
      relocated += empty.length;
    }
    let moved = 0;
    for (let j = 0; j < k; j++) {
      for (let t = 0; t < d; t++) {
        // A cluster emptied by giving its only point away keeps its centre (sklearn: 0 / 0 kept).
        const v = counts[j] > 0 ? sums[j * d + t] / counts[j] : c[j * d + t];
        moved += (v - c[j * d + t]) ** 2;
        c[j * d + t] = v;
      }
    }
    const same = labels.every((l, i) => l === prev[i]);
    if (same || moved === 0) break;
    prev.set(labels);
  }
  assign(x, n, d, c, k, labels, dists);
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += dists[i];
  return { centers: c, labels, inertia, iterations, relocated };
}
