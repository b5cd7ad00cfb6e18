import assert from "node:assert/strict";
import { digitPixels } from "./pad.ts";
import { chartSvg, smooth, ticks } from "./chart.ts";

/** An ink map of `w` x `h` with the pixels for which `inked(x, y)` holds. */
function ink(w: number, h: number, inked: (x: number, y: number) => boolean): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = inked(x, y) ? 1 : 0;
  return out;
}

Deno.test("digitPixels: no ink is all zeros, a filled box all sixteens", () => {
  assert.deepEqual(digitPixels(new Float32Array(100 * 100), 100, 100), Array(64).fill(0));
  const box = ink(200, 200, (x, y) => x >= 50 && x < 150 && y >= 30 && y < 130);
  assert.deepEqual(digitPixels(box, 200, 200), Array(64).fill(16));
});

Deno.test("digitPixels: a tall stroke is scaled to the full height and centred", () => {
  // A bar 20 wide, 160 high, at the pad's left edge: the bitmap's middle columns, top to bottom.
  const bar = ink(200, 200, (x, y) => x < 20 && y >= 20 && y < 180);
  const px = digitPixels(bar, 200, 200);
  for (let r = 0; r < 8; r++) {
    const row = px.slice(r * 8, r * 8 + 8);
    // 160 source pixels to 32: 20 wide is 4 bitmap pixels, centred on columns 14..17.
    assert.deepEqual(row, [0, 0, 0, 8, 8, 0, 0, 0], `row ${r}`);
  }
});

Deno.test("digitPixels: a ring has ink on its rim and none in its middle", () => {
  const ring = ink(200, 200, (x, y) => {
    const r = Math.hypot(x - 100, y - 100);
    return r >= 60 && r <= 80;
  });
  const px = digitPixels(ring, 200, 200);
  assert.equal(px[3 * 8 + 3] + px[3 * 8 + 4] + px[4 * 8 + 3] + px[4 * 8 + 4], 0);
  assert.ok(px[0 * 8 + 3] > 8 && px[3 * 8 + 0] > 8 && px[7 * 8 + 4] > 8 && px[4 * 8 + 7] > 8);
  assert.ok(px.every((v) => Number.isInteger(v) && v >= 0 && v <= 16));
});

Deno.test("ticks: steps of 1, 2 or 5 times a power of ten", () => {
  assert.deepEqual(ticks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(ticks(0, 730, 4), [0, 200, 400, 600]);
  assert.deepEqual(ticks(0, 730, 3), [0, 500]);
  assert.deepEqual(ticks(2, 2), [2]);
});

Deno.test("chartSvg: a polyline per series, dots for validation, the last value in the legend", () => {
  const svg = chartSvg([
    {
      title: "loss",
      series: [
        { name: "train", color: "#36c", points: [[8, 2.3], [16, 1.5], [24, 0.9]] },
        { name: "val", color: "#c33", points: [[24, 1.1]], dots: true },
      ],
    },
    { title: "accuracy", range: [0, 1], series: [{ name: "val", color: "#c33", points: [] }] },
  ]);
  assert.equal(svg.match(/<polyline /g)?.length, 2);
  assert.equal(svg.match(/<circle /g)?.length, 1);
  assert.match(svg, />train 0\.900</);
  assert.match(svg, />val 1\.100</);
  assert.match(svg, /width="600"/);
  // The largest step sits at the plot's right edge (x = 300 - 8).
  assert.match(svg, /292\.0,/);
});

Deno.test("smooth: a moving average that starts at the first value", () => {
  assert.deepEqual(smooth([[1, 2], [2, 4], [3, 4]], 0.5), [[1, 2], [2, 3], [3, 3.5]]);
  assert.deepEqual(smooth([]), []);
});
