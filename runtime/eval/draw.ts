/**
 * Detections drawn on images: each box a one-pixel outline in its class's
 * colour, with the class number in a 3x5 bitmap font on a tag of that colour
 * at its top-left corner; ground-truth boxes in green. Images are enlarged
 * (nearest neighbour) before drawing, so a 32x32 canvas gets legible boxes,
 * and tiled into a grid. Pure pixel code over runtime/formats/png.ts images.
 */
import type { Image } from "../formats/png.ts";
import type { Box, Detection, GroundTruth } from "./average_precision.ts";

type Rgb = readonly [number, number, number];

/** Class colours (Tableau 10 without its green, which marks the ground truth), cycled. */
export const CLASS_COLOURS: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
  [255, 255, 0],
];
/** The ground truth's colour. */
export const TRUTH_COLOUR: Rgb = [0, 255, 0];

export function classColour(label: number): Rgb {
  const n = CLASS_COLOURS.length;
  return CLASS_COLOURS[((label % n) + n) % n];
}

/** Digits 0-9 as 3x5 bitmaps, rows top to bottom, bit 2 the left column. */
const GLYPHS: readonly number[][] = [
  [7, 5, 5, 5, 7],
  [2, 6, 2, 2, 7],
  [7, 1, 7, 4, 7],
  [7, 1, 7, 1, 7],
  [5, 5, 7, 1, 1],
  [7, 4, 7, 1, 7],
  [7, 4, 7, 5, 7],
  [7, 1, 1, 2, 2],
  [7, 5, 7, 5, 7],
  [7, 5, 7, 1, 7],
];

/** An RGB copy of an image (grey channels repeated). */
export function toRgb(img: Image): Image {
  if (img.channels === 3) return { ...img, data: img.data.slice() };
  const data = new Uint8Array(img.width * img.height * 3);
  for (let i = 0; i < img.width * img.height; i++) {
    data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = img.data[i];
  }
  return { width: img.width, height: img.height, channels: 3, data };
}

function put(img: Image, x: number, y: number, c: Rgb) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const at = (y * img.width + x) * 3;
  img.data[at] = c[0];
  img.data[at + 1] = c[1];
  img.data[at + 2] = c[2];
}

/** The outline of `box` (in the image's original pixels) on an image enlarged `zoom` times. */
export function drawBox(img: Image, box: Box, zoom: number, c: Rgb): void {
  if (!box.every(Number.isFinite)) return;
  const x1 = Math.round(box[0] * zoom), y1 = Math.round(box[1] * zoom);
  const x2 = Math.round(box[2] * zoom) - 1, y2 = Math.round(box[3] * zoom) - 1;
  const clamp = (v: number, hi: number) => Math.max(0, Math.min(hi - 1, v));
  const [a, b] = [clamp(Math.min(x1, x2), img.width), clamp(Math.max(x1, x2), img.width)];
  const [p, q] = [clamp(Math.min(y1, y2), img.height), clamp(Math.max(y1, y2), img.height)];
  for (let x = a; x <= b; x++) {
    put(img, x, p, c);
    put(img, x, q, c);
  }
  for (let y = p; y <= q; y++) {
    put(img, a, y, c);
    put(img, b, y, c);
  }
}

/**
 * `text` (digits) in black on a tag of colour `c` whose top-left corner is
 * (x, y), each font pixel an s x s block.
 */
export function drawTag(img: Image, text: string, x: number, y: number, c: Rgb, s = 1): void {
  const w = (4 * text.length + 1) * s, h = 7 * s;
  for (let dy = 0; dy < h; dy++) for (let dx = 0; dx < w; dx++) put(img, x + dx, y + dy, c);
  [...text].forEach((ch, k) => {
    const g = GLYPHS[ch.charCodeAt(0) - 48];
    if (!g) return;
    for (let r = 0; r < 5 * s; r++) {
      for (let col = 0; col < 3 * s; col++) {
        if (g[Math.floor(r / s)] & (4 >> Math.floor(col / s))) {
          put(img, x + (1 + 4 * k) * s + col, y + s + r, [0, 0, 0]);
        }
      }
    }
  });
}

/**
 * One image (already enlarged `zoom` times, RGB) with its ground truth in
 * green and its detections in their classes' colours on top, the tags last
 * so that no outline crosses a number.
 */
export function drawDetections(
  img: Image,
  zoom: number,
  detections: readonly Detection[],
  truth: readonly GroundTruth[] = [],
): Image {
  const out = toRgb(img);
  for (const g of truth) drawBox(out, g.box, zoom, TRUTH_COLOUR);
  for (const d of detections) drawBox(out, d.box, zoom, classColour(d.label));
  for (const d of detections) {
    const x = Math.max(0, Math.round(d.box[0] * zoom)),
      y = Math.max(0, Math.round(d.box[1] * zoom));
    if (Number.isFinite(x) && Number.isFinite(y)) {
      drawTag(out, String(Math.trunc(d.label)), x, y, classColour(d.label), fontScale(zoom));
    }
  }
  return out;
}

/** Font pixels a tag's pixel: the number stays about as large as a zoomed source pixel allows. */
export function fontScale(zoom: number): number {
  return Math.max(1, Math.round(zoom / 2));
}

/** Images of one size tiled `nrow` a row with `pad` dark grey pixels between them. */
export function tile(images: readonly Image[], nrow: number, pad = 2): Image {
  const { width: w, height: h } = images[0];
  const cols = Math.max(1, Math.min(nrow, images.length));
  const rows = Math.ceil(images.length / cols);
  const width = cols * w + (cols + 1) * pad, height = rows * h + (rows + 1) * pad;
  const data = new Uint8Array(width * height * 3).fill(64);
  images.forEach((im, k) => {
    const x0 = pad + (k % cols) * (w + pad), y0 = pad + Math.floor(k / cols) * (h + pad);
    for (let y = 0; y < h; y++) {
      data.set(im.data.subarray(y * w * 3, (y + 1) * w * 3), ((y0 + y) * width + x0) * 3);
    }
  });
  return { width, height, channels: 3, data };
}
