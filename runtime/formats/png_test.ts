import assert from "node:assert/strict";
import { autoRange, decodePng, encodePng, imageGrid, imageShape, zoomImage } from "./png.ts";
import { tensor } from "../../compiler/ir/tensor.ts";

Deno.test("a grey and an RGB image survive encodePng and decodePng", () => {
  const grey = {
    width: 3,
    height: 2,
    channels: 1 as const,
    data: Uint8Array.of(0, 50, 100, 150, 200, 255),
  };
  const g = decodePng(encodePng(grey));
  assert.deepEqual([g.width, g.height], [3, 2]);
  assert.deepEqual(Array.from(g.rgba.filter((_, i) => i % 4 === 0)), [0, 50, 100, 150, 200, 255]);
  const rgb = { width: 1, height: 2, channels: 3 as const, data: Uint8Array.of(1, 2, 3, 4, 5, 6) };
  assert.deepEqual(Array.from(decodePng(encodePng(rgb)).rgba), [1, 2, 3, 255, 4, 5, 6, 255]);
});

Deno.test("autoRange picks [0, 1], then [-1, 1], then the values' own extent", () => {
  assert.deepEqual(autoRange([0, 0.5, 1]), [0, 1]);
  assert.deepEqual(autoRange([-0.5, 1]), [-1, 1]);
  assert.deepEqual(autoRange([-3, 2, NaN]), [-3, 2]);
  assert.deepEqual(autoRange([5, 5]), [5, 6], "a constant batch still maps");
});

Deno.test("imageShape reads [N, C, H, W], [N, H, W] and square [N, D], and says why not", () => {
  assert.deepEqual(imageShape([2, 3, 4, 5]), [3, 4, 5]);
  assert.deepEqual(imageShape([2, 4, 5]), [1, 4, 5]);
  assert.deepEqual(imageShape([2, 64]), [1, 8, 8]);
  assert.deepEqual(imageShape([2, 48]), [3, 4, 4]);
  assert.deepEqual(imageShape([2, 12], [3, 4]), [1, 3, 4]);
  assert.match(imageShape([2, 10]) as string, /square image of 10 values/);
  assert.match(imageShape([2, 2, 4, 4]) as string, /1 \(grey\) or 3 \(RGB\) channels, not 2/);
  assert.match(imageShape([2, 12], [5, 5]) as string, /25 values\) for 12/);
});

Deno.test("imageGrid tiles items row by row with a black border and maps the range to 0..255", () => {
  // Two 1x2 items, [0, 1] and [0.5, 2] (clipped), one a row: a 4x5 grid with pad 1.
  const t = tensor("f32", [2, 1, 1, 2], [0, 1, 0.5, 2]);
  const img = imageGrid(t, [1, 1, 2], { nrow: 1, range: [0, 1] });
  assert.deepEqual([img.width, img.height, img.channels], [4, 5, 1]);
  const at = (x: number, y: number) => img.data[y * img.width + x];
  assert.deepEqual([at(1, 1), at(2, 1), at(1, 3), at(2, 3)], [0, 255, 128, 255]);
  assert.equal(at(0, 0), 0);
  const wide = imageGrid(t, [1, 1, 2], { nrow: 2, range: [-1, 1] });
  assert.deepEqual([wide.width, wide.height], [7, 3]);
  assert.deepEqual([1, 2, 4, 5].map((x) => wide.data[wide.width + x]), [
    128,
    255,
    191,
    255,
  ]);
});

Deno.test("zoomImage draws every pixel as a k x k block", () => {
  const img = { width: 2, height: 1, channels: 1 as const, data: Uint8Array.of(10, 20) };
  const z = zoomImage(img, 2);
  assert.deepEqual([z.width, z.height], [4, 2]);
  assert.deepEqual(Array.from(z.data), [10, 10, 20, 20, 10, 10, 20, 20]);
});
