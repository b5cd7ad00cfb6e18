/**
 * The drawing pad's arithmetic: a drawn digit made into what the digits set holds. The set
 * (UCI "Optical Recognition of Handwritten Digits") was made from 32x32 bitmaps, normalised so
 * that the digit fills the box, then cut into 4x4 blocks, each counting its inked pixels: an 8x8
 * image of 0..16. So does `digitPixels`: the ink's bounding box scaled (aspect kept) to fill
 * 32x32 and centred, a bitmap pixel inked when half its area is, then the 4x4 block counts.
 * The DOM side (the canvas and its pointer strokes) is in train_panel.ts.
 */

/** The bitmap side the set was normalised to, and the side of its blocks. */
const BITMAP = 32;
const BLOCK = 4;

/**
 * The 8x8 image of 0..16 (row-major) of an ink map: `ink[y * width + x]` in 0..1 (a canvas'
 * alpha / 255). No ink gives all zeros.
 */
export function digitPixels(ink: ArrayLike<number>, width: number, height: number): number[] {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] >= 0.5) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  const out = new Array<number>((BITMAP / BLOCK) ** 2).fill(0);
  if (x1 < 0) return out;
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1;
  // Source pixels per bitmap pixel; the box's shorter side is centred.
  const s = Math.max(bw, bh) / BITMAP;
  const ox = x0 - (BITMAP * s - bw) / 2, oy = y0 - (BITMAP * s - bh) / 2;
  for (let by = 0; by < BITMAP; by++) {
    for (let bx = 0; bx < BITMAP; bx++) {
      // The mean ink over the bitmap pixel's square of the source (sampled on a 4x4 grid).
      let sum = 0;
      for (let j = 0; j < 4; j++) {
        for (let i = 0; i < 4; i++) {
          const x = Math.floor(ox + (bx + (i + 0.5) / 4) * s);
          const y = Math.floor(oy + (by + (j + 0.5) / 4) * s);
          if (x >= 0 && y >= 0 && x < width && y < height) sum += ink[y * width + x];
        }
      }
      if (sum / 16 >= 0.5) {
        out[Math.floor(by / BLOCK) * (BITMAP / BLOCK) + Math.floor(bx / BLOCK)]++;
      }
    }
  }
  return out;
}
