/**
 * Image grids: a batch of images tiled into one picture, the values mapped from a range to
 * 0..255 (what `dlm sample` writes as a PNG, png.ts, and the playground draws on a canvas).
 * Pure pixel code, with no dependency: a browser bundle takes it as it is.
 */
import type { Tensor } from "../../compiler/ir/tensor.ts";

/** An 8-bit image: `channels` 1 (grey) or 3 (RGB), row-major, channels interleaved. */
export interface Image {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/** How the values of a batch map to 0..255: `[lo, hi]` (lo black, hi white, clipped outside). */
export type ValueRange = [number, number];

/**
 * The range `auto` picks for a batch: [0, 1] when every value lies in it (a
 * sigmoid's output, the digits' intensities), else [-1, 1] when every value
 * lies in that (a tanh's output), else the batch's own minimum and maximum.
 */
export function autoRange(values: ArrayLike<number>): ValueRange {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (lo >= 0 && hi <= 1) return [0, 1];
  if (lo >= -1 && hi <= 1) return [-1, 1];
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}

/**
 * The image shape [C, H, W] of one item of a batch, from the batch's shape:
 * [N, C, H, W] as it is; [N, H, W] grey; [N, D] by `shape` if given (H,W or
 * C,H,W), else square grey (D = H * H) or square RGB (D = 3 * H * H).
 * Returns a reason when the batch cannot be drawn.
 */
export function imageShape(
  batch: readonly number[],
  shape?: number[],
): [number, number, number] | string {
  const per = batch.slice(1).reduce((a, b) => a * b, 1);
  if (batch.length < 2) return `a batch of images [N, ...], not a tensor of rank ${batch.length}`;
  let chw: number[];
  if (shape) {
    chw = shape.length === 2 ? [1, ...shape] : shape;
    if (chw.length !== 3) return `--shape as H,W or C,H,W, not ${shape.length} numbers`;
    if (chw[0] * chw[1] * chw[2] !== per) {
      return `--shape ${shape.join(",")} (${
        chw[0] * chw[1] * chw[2]
      } values) for ${per} values an item`;
    }
  } else if (batch.length === 4) chw = batch.slice(1);
  else if (batch.length === 3) chw = [1, batch[1], batch[2]];
  else if (batch.length === 2) {
    const g = Math.round(Math.sqrt(per)), c = Math.round(Math.sqrt(per / 3));
    if (g * g === per) chw = [1, g, g];
    else if (3 * c * c === per) chw = [3, c, c];
    else return `a square image of ${per} values (give --shape H,W or C,H,W)`;
  } else return `images [N, C, H, W], [N, H, W] or [N, D], not rank ${batch.length}`;
  if (chw[0] !== 1 && chw[0] !== 3) return `1 (grey) or 3 (RGB) channels, not ${chw[0]}`;
  return chw as [number, number, number];
}

/**
 * Tile the items of `batch` (f32, its item shape `chw`) into a grid of `nrow`
 * images a row, `pad` pixels of black between them, each value v mapped to
 * round(255 * (v - lo) / (hi - lo)) clipped to 0..255.
 */
export function imageGrid(
  batch: Tensor,
  chw: [number, number, number],
  opts: { nrow: number; range: ValueRange; pad?: number },
): Image {
  const [c, h, w] = chw;
  const n = batch.shape[0];
  const pad = opts.pad ?? 1;
  const cols = Math.max(1, Math.min(opts.nrow, n));
  const rows = Math.max(1, Math.ceil(n / cols));
  const width = cols * w + (cols + 1) * pad, height = rows * h + (rows + 1) * pad;
  const data = new Uint8Array(width * height * c);
  const [lo, hi] = opts.range;
  const scale = 255 / (hi - lo);
  const v = batch.data as Float32Array;
  for (let k = 0; k < n; k++) {
    const x0 = pad + (k % cols) * (w + pad), y0 = pad + Math.floor(k / cols) * (h + pad);
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const s = v[((k * c + ch) * h + y) * w + x];
          const b = Number.isNaN(s) ? 0 : Math.round((s - lo) * scale);
          data[((y0 + y) * width + x0 + x) * c + ch] = b < 0 ? 0 : b > 255 ? 255 : b;
        }
      }
    }
  }
  return { width, height, channels: c as 1 | 3, data };
}

/** Every pixel as a k x k block (nearest-neighbour enlargement, for small images to be seen). */
export function zoomImage(img: Image, k: number): Image {
  if (k === 1) return img;
  const width = img.width * k, height = img.height * k, c = img.channels;
  const data = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    const sy = Math.floor(y / k);
    for (let x = 0; x < width; x++) {
      const s = (sy * img.width + Math.floor(x / k)) * c, d = (y * width + x) * c;
      for (let ch = 0; ch < c; ch++) data[d + ch] = img.data[s + ch];
    }
  }
  return { width, height, channels: c, data };
}
