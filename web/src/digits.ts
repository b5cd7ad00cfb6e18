/**
 * The digits set as the page carries it: web/build.ts packs `lang-examples/data/digits.csv` (the
 * file `dlm train --data digits` reads; 1797 rows of 64 pixels 0..16 and a label 0..9) into
 * `digits.bin`, one byte per value, 65 bytes a row (117 KB, against 270 KB of CSV text). The
 * training worker decodes it into the tensors `loadDigits()` (runtime/data/load.ts) makes from
 * the CSV: `image` f32[1797, 64] as pixel * (1/16), `label` i64[1797], rows in the file's order.
 */
import type { Tensor } from "../../compiler/ir/tensor.ts";

export const DIGITS_PIXELS = 64;
const ROW = DIGITS_PIXELS + 1;
/** What the pixels are multiplied by, as runtime/data/load.ts does (DIGITS_SCALE). */
const SCALE = 1 / 16;

/** The CSV text as bytes; a malformed row throws with its line (the build then fails). */
export function encodeDigits(csv: string): Uint8Array {
  const lines = csv.split("\n").filter((l) => l.trim() !== "");
  const out = new Uint8Array(lines.length * ROW);
  lines.forEach((line, r) => {
    const cells = line.split(",").map(Number);
    const ok = cells.length === ROW &&
      cells.every((v, i) => Number.isInteger(v) && v >= 0 && v <= (i < DIGITS_PIXELS ? 16 : 9));
    if (!ok) throw new Error(`digits.csv line ${r + 1}: not 64 pixels 0..16 and a label 0..9`);
    out.set(cells, r * ROW);
  });
  return out;
}

/** The packed rows as the data set's tensors (the same values loadDigits() reads). */
export function decodeDigits(bytes: Uint8Array): { image: Tensor; label: Tensor } {
  if (bytes.length === 0 || bytes.length % ROW !== 0) {
    throw new Error(`digits.bin: ${bytes.length} bytes is not a whole number of ${ROW}-byte rows`);
  }
  const n = bytes.length / ROW;
  const image = new Float32Array(n * DIGITS_PIXELS);
  const label = new BigInt64Array(n);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < DIGITS_PIXELS; i++) {
      image[r * DIGITS_PIXELS + i] = bytes[r * ROW + i] * SCALE;
    }
    label[r] = BigInt(bytes[r * ROW + DIGITS_PIXELS]);
  }
  return {
    image: { dtype: "f32", shape: [n, DIGITS_PIXELS], data: image },
    label: { dtype: "i64", shape: [n], data: label },
  };
}
