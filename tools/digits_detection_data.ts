/**
 * Detection sets made from the bundled digits (8x8 each), for the detectors
 * in lang-examples/.
 *
 * One digit a canvas (`digitsDetection`, digit_detector.dlm's set): each
 * digit, scaled 2x, at a random position on a blank 32x32 canvas. Writes
 * image.npy (f32[N, 1, 32, 32]), box.npy (f32[N, 4]: x1, y1, x2, y2 of the
 * 16x16 digit) and label.npy (i64[N]):
 *
 *   deno run -A tools/digits_detection_data.ts out/det
 *   deno task dlm train lang-examples/digit_detector.dlm --data image=out/det/image.npy \
 *       --data gt=out/det/box.npy --data label=out/det/label.npy
 *
 * Several digits a canvas (`digitsCanvases`, with `--objects K`): 1 to K
 * digits of several sizes on each canvas, never overlapping, padded to K
 * rows. Writes image.npy, boxes.npy, labels.npy (-1 for padding), mask.npy
 * and count.npy (see `digitsCanvases`):
 *
 *   deno run -A tools/digits_detection_data.ts out/canvases --objects 4 --canvas 64 \
 *       --count 2000 --digits 0:1500 --seed 1
 *   deno run -A tools/digits_detection_data.ts out/heldout --objects 4 --canvas 64 \
 *       --count 300 --digits 1500:1797 --seed 2
 */
import { type Tensor, tensor } from "../compiler/ir/tensor.ts";
import { loadDigits } from "../runtime/data/mod.ts";
import { writeNpy } from "../runtime/formats/mod.ts";
import { describeFsError, writeFileAtomic } from "../runtime/fs.ts";

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
  const next = lcg(seed);
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

/** Options of {@link digitsCanvases}. */
export interface CanvasOptions {
  /** Canvases to make (default 1,000). */
  count?: number;
  /** The canvas's side in pixels (default 64). */
  canvas?: number;
  /** At most this many digits on a canvas; each canvas has 1 to `objects` (default 4). */
  objects?: number;
  /** The digits' sides in pixels, one drawn per digit (default 12, 16, 20, 24). */
  sizes?: readonly number[];
  /** The bundled digits used, as a range of their indices [from, to) (default all 1,797), so that a held-out set can use digits the training set never saw. */
  digits?: readonly [number, number];
  /** The seed of the positions, sizes and the order the digits are taken in (default 1). */
  seed?: number;
}

/**
 * Canvases of several digits: each canvas holds 1 to `objects` digits (as
 * many of each count), each digit scaled bilinearly to a side drawn from
 * `sizes` and placed where it overlaps no other (boxes at least one pixel
 * apart; a digit that finds no room after 100 tries is left out, so a
 * canvas may hold fewer than it drew). The digits are taken in a seeded
 * shuffle of the range `digits`, each once before any repeats.
 *
 * Returns, with K = `objects`, the padding rows after each canvas's digits:
 *   image  f32[N, 1, S, S]  values as the bundled digits (0 background)
 *   boxes  f32[N, K, 4]     x1, y1, x2, y2 in pixels (exclusive end); 0 rows for padding
 *   labels i64[N, K]        the digit, or -1 for padding
 *   mask   f32[N, K]        1 for a digit, 0 for padding
 *   count  i64[N]           digits on the canvas
 * which is the padded ground truth `dlm eval --metric map` and `dlm detect` read.
 */
export function digitsCanvases(opts: CanvasOptions = {}): {
  image: Tensor;
  boxes: Tensor;
  labels: Tensor;
  mask: Tensor;
  count: Tensor;
} {
  const n = opts.count ?? 1000, side = opts.canvas ?? 64, k = opts.objects ?? 4;
  const sizes = opts.sizes ?? [12, 16, 20, 24];
  const { image: digits, label: digitLabels } = loadDigits();
  const [from, to] = opts.digits ?? [0, digits.shape[0]];
  if (!(n >= 1 && k >= 1 && from >= 0 && to <= digits.shape[0] && from < to)) {
    throw new RangeError(`digitsCanvases: bad options ${JSON.stringify(opts)}`);
  }
  if (sizes.length === 0 || sizes.some((s) => !(s >= 2 && s <= side))) {
    throw new RangeError(`digitsCanvases: sizes must lie in [2, ${side}]`);
  }
  const next = lcg(opts.seed ?? 1);
  const pool: number[] = [];
  const take = () => {
    if (pool.length === 0) {
      for (let i = from; i < to; i++) pool.push(i);
      for (let i = pool.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [pool[i], pool[j]] = [pool[j], pool[i]];
      }
    }
    return pool.pop()!;
  };
  const src = digits.data as Float32Array;
  const img = new Float32Array(n * side * side);
  const boxes = new Float32Array(n * k * 4), mask = new Float32Array(n * k);
  const labels = new Array<number>(n * k).fill(-1), count = new Array<number>(n);
  for (let c = 0; c < n; c++) {
    const want = 1 + (c % k);
    const placed: number[][] = [];
    for (let o = 0; o < want; o++) {
      const s = sizes[Math.floor(next() * sizes.length)];
      let spot: number[] | undefined;
      for (let t = 0; t < 100 && !spot; t++) {
        const x0 = Math.floor(next() * (side - s + 1)), y0 = Math.floor(next() * (side - s + 1));
        const b = [x0, y0, x0 + s, y0 + s];
        if (placed.every((p) => b[0] > p[2] || p[0] > b[2] || b[1] > p[3] || p[1] > b[3])) spot = b;
      }
      if (!spot) continue;
      const d = take(), row = c * k + placed.length;
      placed.push(spot);
      drawDigit(img, c * side * side, side, src.subarray(d * 64, d * 64 + 64), spot[0], spot[1], s);
      boxes.set(spot, row * 4);
      labels[row] = Number(digitLabels.data[d]);
      mask[row] = 1;
    }
    count[c] = placed.length;
  }
  return {
    image: tensor("f32", [n, 1, side, side], img),
    boxes: tensor("f32", [n, k, 4], boxes),
    labels: tensor("i64", [n, k], labels),
    mask: tensor("f32", [n, k], mask),
    count: tensor("i64", [n], count),
  };
}

/** Draws an 8x8 digit scaled to s x s at (x0, y0), bilinear with half-pixel centres (torch's align_corners=False), edges clamped. */
function drawDigit(
  img: Float32Array,
  base: number,
  side: number,
  d: Float32Array,
  x0: number,
  y0: number,
  s: number,
): void {
  const at = (y: number, x: number) =>
    d[Math.min(7, Math.max(0, y)) * 8 + Math.min(7, Math.max(0, x))];
  for (let y = 0; y < s; y++) {
    const sy = Math.max(0, (y + 0.5) * 8 / s - 0.5), iy = Math.floor(sy), fy = sy - iy;
    for (let x = 0; x < s; x++) {
      const sx = Math.max(0, (x + 0.5) * 8 / s - 0.5), ix = Math.floor(sx), fx = sx - ix;
      img[base + (y0 + y) * side + x0 + x] =
        (1 - fy) * ((1 - fx) * at(iy, ix) + fx * at(iy, ix + 1)) +
        fy * ((1 - fx) * at(iy + 1, ix) + fx * at(iy + 1, ix + 1));
    }
  }
}

/** A seeded linear congruential generator of numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The most numbers one array of the set may hold (2^31 - 1, as dlm's tensors). */
export const MAX_ELEMENTS = 2 ** 31 - 1;

const USAGE = "usage: deno run -A tools/digits_detection_data.ts OUT_DIR " +
  "[--objects K [--canvas S] [--sizes A,B,..] [--count N] [--digits FROM:TO] [--seed S]]";

/** The command line's options, or a message saying what is wrong. */
export function parseArgs(args: string[]): { dir: string; canvases?: CanvasOptions } | string {
  let dir: string | undefined;
  const o: CanvasOptions = {};
  let multi = false;
  const seen = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) {
      if (dir !== undefined) return `one output directory, got '${dir}' and '${a}'`;
      dir = a;
      continue;
    }
    if (seen.has(a)) return `${a} is given twice`;
    seen.add(a);
    const v = args[++i];
    if (v === undefined) return `${a} needs a value`;
    const int = (lo: number) => {
      const x = Number(v);
      return Number.isInteger(x) && x >= lo ? x : undefined;
    };
    if (a === "--objects" || a === "--canvas" || a === "--count" || a === "--seed") {
      const x = int(a === "--seed" ? 0 : 1);
      if (x === undefined) {
        return `${a} must be a whole number ${a === "--seed" ? ">= 0" : ">= 1"}, got '${v}'`;
      }
      if (a === "--objects") (o.objects = x, multi = true);
      else if (a === "--canvas") o.canvas = x;
      else if (a === "--count") o.count = x;
      else o.seed = x;
    } else if (a === "--sizes") {
      const xs = v.split(",").map(Number);
      if (xs.some((x) => !Number.isInteger(x) || x < 2)) {
        return `--sizes must list whole numbers >= 2, got '${v}'`;
      }
      o.sizes = xs;
    } else if (a === "--digits") {
      const m = /^(\d+):(\d+)$/.exec(v);
      if (!m || Number(m[1]) >= Number(m[2]) || Number(m[2]) > 1797) {
        return `--digits must be FROM:TO with 0 <= FROM < TO <= 1797, got '${v}'`;
      }
      o.digits = [Number(m[1]), Number(m[2])];
    } else return `unknown option ${a}`;
  }
  if (dir === undefined) return "an output directory is needed";
  if (!multi && Object.keys(o).length > 0) {
    return "--canvas, --sizes, --count, --digits and --seed go with --objects";
  }
  if (multi && (o.sizes ?? [24]).some((s) => s > (o.canvas ?? 64))) {
    return `--sizes must fit the canvas (${o.canvas ?? 64})`;
  }
  // Each array is one typed array in memory and one .npy file: at most MAX_ELEMENTS numbers.
  const n = o.count ?? 1000, side = o.canvas ?? 64, k = o.objects ?? 4;
  if (multi && (n * side * side > MAX_ELEMENTS || n * k * 4 > MAX_ELEMENTS)) {
    return `--count ${n} canvases of ${side} x ${side} pixels and ${k} objects make more than ` +
      `${MAX_ELEMENTS} numbers in one array`;
  }
  return multi ? { dir, canvases: o } : { dir };
}

if (import.meta.main) {
  const p = parseArgs(Deno.args);
  if (typeof p === "string") {
    console.error(`error: ${p}\n${USAGE}`);
    Deno.exit(2);
  }
  let d: Record<string, Tensor>;
  try {
    d = p.canvases ? digitsCanvases(p.canvases) : digitsDetection();
  } catch (e) {
    // Within MAX_ELEMENTS, an allocation the machine's memory cannot hold.
    console.error(`error: cannot make the set: ${(e as Error).message}`);
    Deno.exit(1);
  }
  try {
    Deno.mkdirSync(p.dir, { recursive: true });
    for (const [name, t] of Object.entries(d)) {
      writeFileAtomic(`${p.dir}/${name}.npy`, writeNpy(t));
    }
  } catch (e) {
    console.error(`error: cannot write to '${p.dir}': ${describeFsError(e)}`);
    Deno.exit(1);
  }
  console.error(
    `wrote ${Object.keys(d).map((n) => `${p.dir}/${n}.npy`).join(", ")} (${
      d.image.shape[0]
    } examples)`,
  );
}
