import assert from "node:assert/strict";
import { Rng } from "../../compiler/ir/rng.ts";
import { computeFrontier, fewestReaching, fitPowerLaw, powerLaw, reachThreshold } from "./fit.ts";

const NS = [2e3, 5e3, 1e4, 3e4, 1e5, 3e5, 1e6, 3e6];

Deno.test("fitPowerLaw() recovers a, alpha and c from exact points", () => {
  const truth = { a: 12, alpha: 0.35, c: 1.7 };
  const f = fitPowerLaw(NS.map((x) => ({ x, y: powerLaw(truth, x) })))!;
  assert.equal(f.kind, "offset");
  assert.ok(Math.abs(f.alpha - 0.35) < 1e-6, `${f.alpha}`);
  assert.ok(Math.abs(f.a - 12) / 12 < 1e-5, `${f.a}`);
  assert.ok(Math.abs(f.c - 1.7) < 1e-6, `${f.c}`);
  assert.ok(f.r2 > 0.999999);
});

Deno.test("fitPowerLaw() recovers a known law through 1% noise, seed after seed", () => {
  const truth = { a: 40, alpha: 0.3, c: 2.0 };
  for (let seed = 1; seed <= 20; seed++) {
    const rng = new Rng(seed);
    const pts = NS.map((x) => ({ x, y: powerLaw(truth, x) * (1 + 0.01 * rng.normal()) }));
    const f = fitPowerLaw(pts)!;
    // The fit is the least-squares optimum: no worse than the truth on its own data.
    const rssTruth = pts.reduce((s, p) => s + (powerLaw(truth, p.x) - p.y) ** 2, 0);
    assert.ok(f.rss <= rssTruth * (1 + 1e-9), `seed ${seed}: ${f.rss} > ${rssTruth}`);
    assert.ok(Math.abs(f.alpha - 0.3) < 0.08, `seed ${seed}: alpha ${f.alpha}`);
    assert.ok(Math.abs(f.c - 2.0) < 0.25, `seed ${seed}: c ${f.c}`);
  }
});

Deno.test("fitPowerLaw() with no offset finds c near 0 and the log-log slope", () => {
  const f = fitPowerLaw(NS.map((x) => ({ x, y: 5 * x ** -0.08 })))!;
  assert.ok(Math.abs(f.alpha - 0.08) < 1e-3, `${f.alpha}`);
  assert.ok(f.c < 0.02, `${f.c}`);
});

Deno.test("fitPowerLaw() keeps a Gauss-Newton refinement that beats the grid's start", () => {
  // An offset between grid points: only the refinement reaches it to 1e-6.
  const truth = { a: 3, alpha: 0.5, c: 0.123456 };
  const f = fitPowerLaw([10, 30, 100, 300, 1000].map((x) => ({ x, y: powerLaw(truth, x) })))!;
  assert.ok(Math.abs(f.c - truth.c) < 1e-6, `${f.c}`);
  assert.ok(f.rss < 1e-16, `${f.rss}`);
});

Deno.test("fitPowerLaw() holds c at 0 with two distinct sizes, and gives up with one", () => {
  const f = fitPowerLaw([{ x: 100, y: 4 }, { x: 100, y: 4.2 }, { x: 400, y: 2 }])!;
  assert.equal(f.kind, "pure");
  assert.equal(f.c, 0);
  // log(4.1 / 2) / log(4): the line through the mean log loss at each size.
  const expected = (Math.log(Math.sqrt(4 * 4.2)) - Math.log(2)) / Math.log(4);
  assert.ok(Math.abs(f.alpha - expected) < 1e-9, `${f.alpha} vs ${expected}`);
  assert.equal(fitPowerLaw([{ x: 100, y: 4 }, { x: 100, y: 3 }]), undefined);
  assert.equal(fitPowerLaw([{ x: 100, y: 4 }]), undefined);
  // Points that cannot be on a log-log plot are left out.
  assert.equal(fitPowerLaw([{ x: 0, y: 4 }, { x: 10, y: NaN }, { x: 20, y: 3 }]), undefined);
});

Deno.test("fitPowerLaw() reports a loss that grows with size as a negative exponent", () => {
  const f = fitPowerLaw([1e3, 1e4, 1e5].map((x, i) => ({ x, y: 3 + 0.1 * i })))!;
  assert.ok(f.alpha < 0, `${f.alpha}`);
});

Deno.test("computeFrontier() keeps the runs no cheaper run beats", () => {
  const runs = [
    { id: "a", compute: 1, loss: 5 },
    { id: "b", compute: 2, loss: 4 },
    { id: "c", compute: 3, loss: 4.5 },
    { id: "d", compute: 4, loss: 3 },
    { id: "e", compute: 4, loss: 3.5 },
    { id: "f", compute: 8, loss: 3 },
    { id: "g", compute: 9, loss: NaN },
  ];
  assert.deepEqual(computeFrontier(runs).map((r) => r.id), ["a", "b", "d"]);
});

Deno.test("reachThreshold and fewestReaching read larger-is-better and smaller-is-better metrics", () => {
  // Accuracy: 0.9 of 0.8 is 0.72; the smallest N at or above it.
  const acc = [{ n: 300, value: 0.79 }, { n: 2, value: 0.3 }, { n: 40, value: 0.75 }];
  assert.ok(Math.abs(reachThreshold(0.8, 0.9, false) - 0.72) < 1e-12);
  assert.equal(fewestReaching(acc, 0.72, false)?.n, 40);
  // A loss: within 1/0.9 of 1.8 is 2.0; the smallest N at or below it.
  const loss = [{ n: 300, value: 1.9 }, { n: 2, value: 2.3 }, { n: 40, value: 2.01 }];
  assert.ok(Math.abs(reachThreshold(1.8, 0.9, true) - 2) < 1e-12);
  assert.equal(fewestReaching(loss, 2, true)?.n, 300);
  assert.equal(fewestReaching(loss, 1.5, true), undefined);
});
