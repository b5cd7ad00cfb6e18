/**
 * k-means against scikit-learn 1.2 on fixed data (tests/fixtures/clustering/, made by
 * make_kmeans_fixtures.py): Lloyd's iterations from given centres end at sklearn's centres,
 * labels, inertia and iteration count, an empty cluster included; seeded k-means++ finds the
 * partition sklearn's finds on separated blobs; NMI and Hungarian-matched accuracy equal
 * sklearn's and scipy's.
 */
import assert from "node:assert/strict";
import { kmeans, kmeansPlusPlus } from "./kmeans.ts";
import { clusteringAccuracy, minCostAssignment, normalizedMutualInfo } from "./clustering.ts";
import { Rng } from "../../compiler/ir/rng.ts";

interface Fixture {
  lloyd: {
    name: string;
    x: number[][];
    init: number[][];
    max_iter: number;
    centers: number[][];
    labels: number[];
    inertia: number;
    n_iter: number;
  }[];
  plusplus: { name: string; x: number[][]; k: number; labels: number[]; inertia: number }[];
  scores: { name: string; labels: number[]; clusters: number[]; nmi: number; accuracy: number }[];
}

const F: Fixture = JSON.parse(
  Deno.readTextFileSync(
    new URL("../../tests/fixtures/clustering/kmeans_cases.json", import.meta.url),
  ),
);

for (const c of F.lloyd) {
  Deno.test(`k-means from given centres matches scikit-learn: ${c.name}`, () => {
    const n = c.x.length, d = c.x[0].length;
    const r = kmeans(c.x.flat(), n, d, c.init.length, { init: c.init, maxIter: c.max_iter });
    assert.deepEqual([...r.labels], c.labels);
    assert.equal(r.iterations, c.n_iter);
    assert.ok(Math.abs(r.inertia - c.inertia) < 1e-9 * c.inertia, `${r.inertia} vs ${c.inertia}`);
    c.centers.flat().forEach((v, i) => assert.ok(Math.abs(r.centers[i] - v) < 1e-9, `${i}`));
    if (c.name.includes("empty")) assert.ok(r.relocated > 0);
  });
}

Deno.test("seeded k-means++ finds scikit-learn's partition of separated blobs", () => {
  for (const c of F.plusplus) {
    const n = c.x.length, d = c.x[0].length;
    for (const seed of [0, 1, 2]) {
      const r = kmeans(c.x.flat(), n, d, c.k, { seed });
      assert.equal(normalizedMutualInfo(c.labels, r.labels), 1, `seed ${seed}`);
      assert.ok(Math.abs(r.inertia - c.inertia) < 1e-9 * c.inertia);
      // The same seed, the same run.
      assert.deepEqual(kmeans(c.x.flat(), n, d, c.k, { seed }).labels, r.labels);
    }
  }
});

Deno.test("k-means++ spreads its centres: one in each blob, from its own seeded stream", () => {
  const c = F.plusplus[0];
  const n = c.x.length, d = c.x[0].length;
  const centres = kmeansPlusPlus(c.x.flat(), n, d, 5, new Rng(7));
  const blobs = new Set<number>();
  for (let j = 0; j < 5; j++) {
    // Each centre is a data point; which blob it is in is that point's sklearn label.
    const i = c.x.findIndex((row) => row.every((v, t) => v === centres[j * d + t]));
    assert.ok(i >= 0);
    blobs.add(c.labels[i]);
  }
  assert.equal(blobs.size, 5);
});

Deno.test("k-means refuses k outside 1..n, the points it has, and points that are not finite", () => {
  assert.throws(() => kmeans([0, 1, 2], 3, 1, 4), /1 <= k <= 3 \(the points\), got k = 4/);
  assert.throws(() => kmeans([0, 1, 2], 3, 1, 0), /got k = 0/);
  // Not a failure inside k-means++ (whose draw is D^2 / sum D^2, NaN here).
  assert.throws(() => kmeans([0, 0, NaN, 1, 2, 2], 3, 2, 2), /finite points: point 1 is NaN/);
  assert.throws(() => kmeans([0, Infinity, 2], 3, 1, 2), /point 1 is Infinity/);
});

for (const c of F.scores) {
  Deno.test(`NMI and Hungarian-matched accuracy match scikit-learn and scipy: ${c.name}`, () => {
    assert.ok(Math.abs(normalizedMutualInfo(c.labels, c.clusters) - c.nmi) < 1e-12);
    assert.ok(Math.abs(clusteringAccuracy(c.labels, c.clusters) - c.accuracy) < 1e-12);
  });
}

Deno.test("minCostAssignment is optimal: every permutation of a 6 x 6 cost is no cheaper", () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 5; trial++) {
    const cost = Array.from({ length: 6 }, () => Array.from({ length: 6 }, () => rng.uniform()));
    const m = minCostAssignment(cost);
    assert.equal(new Set(m).size, 6);
    const best = m.reduce((s, j, i) => s + cost[i][j], 0);
    const perms = (xs: number[]): number[][] =>
      xs.length <= 1
        ? [xs]
        : xs.flatMap((x, i) =>
          perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])
        );
    for (const p of perms([0, 1, 2, 3, 4, 5])) {
      assert.ok(p.reduce((s, j, i) => s + cost[i][j], 0) >= best - 1e-12);
    }
  }
});
