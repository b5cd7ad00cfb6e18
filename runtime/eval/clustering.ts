/**
 * How well a clustering recovers known classes: normalised mutual information and the
 * clustering accuracy after matching clusters to classes one to one (the Hungarian method), the
 * two figures deep clustering papers report. Both are compared with scikit-learn's
 * `normalized_mutual_info_score` and scipy's `linear_sum_assignment` in clustering_test.ts.
 */

/** The contingency table n[c][y]: points of cluster c with class y. */
function contingency(classes: ArrayLike<number>, clusters: ArrayLike<number>) {
  const ys = [...new Set(Array.from(classes))].sort((a, b) => a - b);
  const cs = [...new Set(Array.from(clusters))].sort((a, b) => a - b);
  const yi = new Map(ys.map((v, i) => [v, i])), ci = new Map(cs.map((v, i) => [v, i]));
  const table = cs.map(() => new Float64Array(ys.length));
  for (let i = 0; i < classes.length; i++) table[ci.get(clusters[i])!][yi.get(classes[i])!]++;
  return table;
}

/**
 * NMI with the arithmetic mean of the entropies (scikit-learn's default):
 *
 *   MI = sum_{c,y} p(c,y) ln(p(c,y) / (p(c) p(y))),   NMI = MI / ((H(C) + H(Y)) / 2)
 *
 * 1 when both sides are one label each (nothing to tell apart), 0 when MI is 0.
 */
export function normalizedMutualInfo(
  classes: ArrayLike<number>,
  clusters: ArrayLike<number>,
): number {
  if (classes.length !== clusters.length) {
    throw new RangeError(`${classes.length} classes against ${clusters.length} clusters`);
  }
  const n = classes.length;
  const table = contingency(classes, clusters);
  if (table.length === table[0]?.length && table.length <= 1) return 1;
  const rows = table.map((r) => r.reduce((a, b) => a + b, 0));
  const cols = table[0].map((_, j) => table.reduce((a, r) => a + r[j], 0));
  let mi = 0;
  for (let c = 0; c < table.length; c++) {
    for (let y = 0; y < cols.length; y++) {
      const v = table[c][y];
      if (v > 0) mi += (v / n) * Math.log((v * n) / (rows[c] * cols[y]));
    }
  }
  if (mi <= 0) return 0;
  const h = (ps: ArrayLike<number>) =>
    -Array.from(ps).reduce((s, v) => (v > 0 ? s + (v / n) * Math.log(v / n) : s), 0);
  return mi / Math.max((h(rows) + h(cols)) / 2, Number.EPSILON);
}

/**
 * A minimum-cost assignment of the rows of `cost` ([r][m], r <= m) to distinct columns: the
 * column of each row. The shortest-augmenting-path Hungarian method with potentials (e-maxx's
 * O(r^2 m) form, the algorithm compiler/check/builtins/matching.ts runs in the graph): rows are
 * added one at a time, each by a Dijkstra search over reduced costs a[i][j] - u[i] - v[j] >= 0
 * that keeps u[i] + v[j] <= a[i][j], with equality on matched pairs, so the result is optimal.
 */
export function minCostAssignment(cost: ArrayLike<number>[]): number[] {
  const r = cost.length, m = r ? cost[0].length : 0;
  if (r > m) throw new RangeError(`assignment of ${r} rows to ${m} columns`);
  const u = new Float64Array(r + 1), v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1), way = new Int32Array(m + 1);
  for (let i = 1; i <= r; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(m + 1).fill(Infinity);
    const used = new Uint8Array(m + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity, j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
        if (cur < minv[j]) minv[j] = cur, way[j] = j0;
        if (minv[j] < delta) delta = minv[j], j1 = j;
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) u[p[j]] += delta, v[j] -= delta;
        else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  const out = new Array<number>(r).fill(-1);
  for (let j = 1; j <= m; j++) if (p[j]) out[p[j] - 1] = j - 1;
  return out;
}

/**
 * The share of points whose cluster, mapped one to one to a class so that the most points agree
 * (the Hungarian method on the contingency table), is their class. With more clusters than
 * classes the extra clusters map to no class (their points count as wrong), and vice versa.
 */
export function clusteringAccuracy(
  classes: ArrayLike<number>,
  clusters: ArrayLike<number>,
): number {
  if (classes.length !== clusters.length) {
    throw new RangeError(`${classes.length} classes against ${clusters.length} clusters`);
  }
  if (classes.length === 0) return 0;
  const table = contingency(classes, clusters);
  const size = Math.max(table.length, table[0].length);
  // Square, padded with zeros; maximising matches is minimising their negation.
  const cost = Array.from(
    { length: size },
    (_, c) => Float64Array.from({ length: size }, (_, y) => -(table[c]?.[y] ?? 0)),
  );
  const match = minCostAssignment(cost);
  let hit = 0;
  match.forEach((y, c) => hit += table[c]?.[y] ?? 0);
  return hit / classes.length;
}
