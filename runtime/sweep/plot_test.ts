import assert from "node:assert/strict";
import { findAll, parseXml, textOf } from "../../compiler/viz/xml_wellformed.ts";
import { fitPowerLaw, powerLaw } from "./fit.ts";
import { logTicks, sweepSvg, tickLabel } from "./plot.ts";

const law = { a: 20, alpha: 0.3, c: 2 };
const points = [1e4, 3e4, 1e5, 3e5].flatMap((n) =>
  [1e6, 4e6].map((tokens) => ({
    n,
    compute: 6 * n * tokens,
    loss: powerLaw(law, n) + 1e6 / tokens,
    group: `${tokens / 1e6}M tokens`,
  }))
);

Deno.test("logTicks() picks decades, else 1-2-5 steps, else digits, else the ends", () => {
  assert.deepEqual(logTicks(5, 2000), [10, 100, 1000]);
  assert.deepEqual(logTicks(3, 60), [5, 10, 20, 50]);
  assert.deepEqual(logTicks(2.5, 4.5), [3, 4]);
  assert.deepEqual(logTicks(5.79, 6.5), [6, 6.5]);
  assert.deepEqual(logTicks(4.1, 4.35), [4.1, 4.2, 4.3]);
  assert.deepEqual(logTicks(4.12, 4.15), [4.12, 4.15]);
  assert.equal(tickLabel(25000), "25k");
  assert.equal(tickLabel(3e9), "3G");
  assert.equal(tickLabel(0.25), "0.25");
});

Deno.test("sweepSvg() is well-formed XML with the points, the fitted curve and axis labels", () => {
  const one = points.filter((p) => p.group === "4M tokens");
  const fit = fitPowerLaw(one.map((p) => ({ x: p.n, y: p.loss })))!;
  const svg = sweepSvg({
    title: "GPT <sweep> & fit",
    points: one,
    nLabel: "non-embedding parameters",
    lossLabel: "validation loss",
    fit,
  });
  const root = parseXml(svg);
  assert.equal(root.name, "svg");
  assert.equal(findAll(root, "circle").length, 4 + 1); // the points and the legend's
  assert.equal(findAll(root, "polyline").length, 1);
  const texts = findAll(root, "text").map(textOf);
  assert.ok(texts.includes("GPT <sweep> & fit"));
  assert.ok(texts.includes("non-embedding parameters (log)"));
  assert.ok(texts.some((t) => t.startsWith("20·N^-0.3")), texts.join("|"));
  for (const t of ["10k", "100k"]) assert.ok(texts.includes(t), t);
  // Smaller models have higher loss: their points sit lower on the page (larger y) for larger N.
  const cs = findAll(root, "circle").slice(0, 4).map((c) => [+c.attrs.cx, +c.attrs.cy]);
  for (let i = 1; i < cs.length; i++) {
    assert.ok(cs[i][0] > cs[i - 1][0] && cs[i][1] > cs[i - 1][1], JSON.stringify(cs));
  }
});

Deno.test("sweepSvg() draws a compute panel with the frontier when the budgets vary", () => {
  const svg = sweepSvg({
    title: "budgets",
    points,
    nLabel: "parameters",
    lossLabel: "loss",
    frontier: points.slice(0, 3),
  });
  const root = parseXml(svg);
  const texts = findAll(root, "text").map(textOf);
  assert.ok(texts.includes("training compute, FLOPs (log)"));
  assert.ok(texts.includes("compute frontier"));
  assert.ok(texts.includes("1M tokens") && texts.includes("4M tokens"));
  assert.equal(findAll(root, "polyline").length, 1);
  assert.equal(findAll(root, "circle").length, 2 * (points.length + 2));
});
