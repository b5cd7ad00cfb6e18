/**
 * A small detection set made from the bundled digits: each 8x8 digit,
 * scaled 2x, placed at a random position on a blank 32x32 canvas. Writes
 * image.npy (f32[N, 1, 32, 32]), box.npy (f32[N, 4]: x1, y1, x2, y2 of the
 * 16x16 digit) and label.npy (i64[N]) to a directory, for
 *
 *   deno run -A tools/digits_detection_data.ts out/det
 *   deno task dlm train lang-examples/digit_detector.dlm --data image=out/det/image.npy \
 *       --data box=out/det/box.npy --data label=out/det/label.npy
 */
import { type Tensor, tensor } from "../compiler/ir/tensor.ts";
import { loadDigits } from "../runtime/data/mod.ts";
import { writeNpy } from "../runtime/formats/mod.ts";
import { writeFileAtomic } from "../runtime/fs.ts";

export const CANVAS = 32;

/** The set: `count` examples (default all 1,797), positions from a seeded generator. */
export function digitsDetection(
  count?: number,
  seed = 1,
): { image: Tensor; box: Tensor; label: Tensor } {
  const { image: digits, label: labels } = loadDigits();
  const n = Math.min(count ?? digits.shape[0], digits.shape[0]);
  const img = new Float32Array(n * CANVAS * CANVAS);
  const box: number[] = [], label: number[] = [];
  let s = seed >>> 0 || 1;
  const next = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const src = digits.data as Float32Array;
  for (let k = 0; k < n; k++) {
    const x0 = Math.floor(next() * (CANVAS - 16 + 1)), y0 = Math.floor(next() * (CANVAS - 16 + 1));
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        img[k * CANVAS * CANVAS + (y0 + y) * CANVAS + x0 + x] =
          src[k * 64 + (y >> 1) * 8 + (x >> 1)];
      }
    }
    box.push(x0, y0, x0 + 16, y0 + 16);
    label.push(Number(labels.data[k]));
  }
  return {
    image: tensor("f32", [n, 1, CANVAS, CANVAS], img),
    box: tensor("f32", [n, 4], box),
    label: tensor("i64", [n], label),
  };
}

if (import.meta.main) {
  const dir = Deno.args[0];
  if (!dir) {
    console.error("usage: deno run -A tools/digits_detection_data.ts OUT_DIR");
    Deno.exit(2);
  }
  Deno.mkdirSync(dir, { recursive: true });
  const d = digitsDetection();
  for (const [name, t] of Object.entries(d)) writeFileAtomic(`${dir}/${name}.npy`, writeNpy(t));
  console.error(`wrote ${dir}/image.npy, box.npy, label.npy (${d.label.shape[0]} examples)`);
}
