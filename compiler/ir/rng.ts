/**
 * The seeded random stream of the compiler and the runtime: parameter
 * initialisation (ir/init.ts), random inputs (runtime/inputs.ts), sampling
 * (runtime/generate.ts) and the training differential tests all draw from
 * it. A stream is named: `Rng.forName(seed, name)` depends on the seed and
 * the name alone, so adding a parameter never moves another one's values.
 *
 * Every value it produces is pinned by tools/replay_baseline.json (the
 * initial weights of every example): change nothing here that changes a
 * number, including the chunk size of fillNormal.
 *
 * Float32Array fills run in a WebAssembly kernel (rng_kernel.ts) that
 * follows fillNormalTs and fillUniformTs instruction for instruction: the
 * same values, in about half the time.
 *
 * (runtime/reference/random.ts is another generator, mulberry32, for the
 * reference interpreter's random ops; its numbers are pinned by tests too,
 * so the two stay apart.)
 */

import { type FillKernel, makeFillKernel, OUT_VALUES } from "./rng_kernel.ts";

/** 32-bit FNV-1a of a string, mixed with the seed. */
function seedFor(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= Math.imul(seed >>> 16 | 0, 0x9e3779b9);
  return h >>> 0 || 0x9e3779b9;
}

/**
 * A small, fast PRNG: xoshiro128** (Blackman and Vigna), its state filled
 * from one seed by splitmix32, producing 32-bit words and [0, 1) floats.
 */
export class Rng {
  // Plain fields (not #private): V8 optimises these hot accesses better.
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    // splitmix32 to fill the state from one seed.
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next() || 1;
  }
  static forName(seed: number, name: string): Rng {
    return new Rng(seedFor(seed, name));
  }
  /** Next uint32 (xoshiro128**). */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9);
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r >>> 0;
  }
  /** Uniform in [0, 1). */
  uniform(): number {
    return this.u32() / 4294967296;
  }

  /**
   * Fill `out` with U[low, high): the same values as calling uniform() in a
   * loop, faster. `then(values, base)`, when given, sees each piece of
   * values before it lands at out[base..] and may change them in place
   * (with scaleValues: in the kernel's memory, without a further pass).
   */
  fillUniform(
    out: Float32Array | Float64Array,
    low: number,
    high: number,
    then?: (values: Float32Array, base: number) => void,
  ): void {
    const k = fillKernel();
    if (!k || !(out instanceof Float32Array)) {
      this.fillUniformTs(out, low, high);
      if (then) then(f32(out), 0);
      return;
    }
    const w = (high - low) / 4294967296;
    for (let base = 0; base < out.length; base += OUT_VALUES) {
      const n = Math.min(OUT_VALUES, out.length - base);
      this.toKernel(k);
      k.fillUniform(n, low, w);
      this.fromKernel(k, out, base, n, then);
    }
  }

  /**
   * fillUniform in TypeScript: the definition the WebAssembly kernel
   * (rng_kernel.ts) follows, and the path of Float64Array outputs.
   */
  fillUniformTs(out: Float32Array | Float64Array, low: number, high: number): void {
    const w = (high - low) / 4294967296;
    for (let base = 0; base < out.length; base += CHUNK) {
      this.uniformRun(out, base, Math.min(base + CHUNK, out.length), low, w);
    }
  }

  /**
   * Fill `out` with N(mean, std^2) (its own order of draws: not the values of
   * normal() in a loop). The stream is consumed a chunk at a time: a chunk's
   * words (min(CHUNK, out.length) of them) give its fast-path samples, then the
   * few (~3%) samples that need the ziggurat's slow path draw further words,
   * in index order. The chunk size is part of the values, so it never changes.
   * `then` as in fillUniform.
   */
  fillNormal(
    out: Float32Array | Float64Array,
    mean: number,
    std: number,
    then?: (values: Float32Array, base: number) => void,
  ): void {
    const k = fillKernel();
    if (!k || !(out instanceof Float32Array)) {
      this.fillNormalTs(out, mean, std);
      if (then) then(f32(out), 0);
      return;
    }
    // Pieces of OUT_VALUES (a multiple of CHUNK) start chunks where one call would:
    // every chunk is CHUNK words but the last, which ends where `out` does.
    for (let base = 0; base < out.length; base += OUT_VALUES) {
      const n = Math.min(OUT_VALUES, out.length - base);
      this.toKernel(k);
      k.fillNormal(n, mean, std);
      this.fromKernel(k, out, base, n, then);
    }
  }

  /** The state into the kernel's memory. */
  private toKernel(k: FillKernel): void {
    k.state[0] = this.a, k.state[1] = this.b, k.state[2] = this.c, k.state[3] = this.d;
  }

  /** The state back from the kernel, and its n values (after `then`) to out[base..]. */
  private fromKernel(
    k: FillKernel,
    out: Float32Array,
    base: number,
    n: number,
    then?: (values: Float32Array, base: number) => void,
  ): void {
    this.a = k.state[0], this.b = k.state[1], this.c = k.state[2], this.d = k.state[3];
    const values = n === OUT_VALUES ? k.out : k.out.subarray(0, n);
    if (then) then(values, base);
    out.set(values, base);
  }

  /**
   * fillNormal in TypeScript: the definition the WebAssembly kernel
   * (rng_kernel.ts) follows, and the path of Float64Array outputs.
   */
  fillNormalTs(out: Float32Array | Float64Array, mean: number, std: number): void {
    const n = Math.min(CHUNK, out.length);
    const at = new Int32Array(n);
    const hzs = new Int32Array(n);
    for (let base = 0; base < out.length; base += n) {
      const end = Math.min(base + n, out.length);
      const t = this.normalRun(out, base, end, mean, std, at, hzs);
      for (let q = 0; q < t; q++) {
        out[at[q]] = mean + std * this.normalTail(hzs[q], hzs[q] & 127);
      }
    }
  }

  /*
   * The loops below run a chunk each, in methods of their own, so that V8
   * optimises them as ordinary hot functions: a loop nest inside fillNormal
   * was compiled on-stack for its inner loop and deoptimised at every exit
   * from it (`--trace-deopt`: "exit from OSR'd inner loop"), about 20% slower
   * in a fresh process.
   */

  /** out[base..end) = low + w * (next words), the state advanced past them. */
  private uniformRun(
    out: Float32Array | Float64Array,
    base: number,
    end: number,
    low: number,
    w: number,
  ): void {
    let a = this.a, b = this.b, c = this.c, d = this.d;
    for (let i = base; i < end; i++) {
      const r = Math.imul(rotl(Math.imul(b, 5), 7), 9);
      const t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = (d << 11) | (d >>> 21);
      out[i] = low + w * (r >>> 0);
    }
    this.a = a, this.b = b, this.c = c, this.d = d;
  }

  /**
   * The fast-path samples of out[base..end), one word each; the indices and
   * words of the others go to `at` and `hzs`, and their count is returned.
   */
  private normalRun(
    out: Float32Array | Float64Array,
    base: number,
    end: number,
    mean: number,
    std: number,
    at: Int32Array,
    hzs: Int32Array,
  ): number {
    let a = this.a, b = this.b, c = this.c, d = this.d;
    let t = 0;
    for (let i = base; i < end; i++) {
      const hz = Math.imul(rotl(Math.imul(b, 5), 7), 9);
      const x = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= x;
      d = (d << 11) | (d >>> 21);
      const iz = hz & 127;
      if (Math.abs(hz) < KN[iz]) out[i] = mean + std * (hz * WN[iz]);
      else {
        at[t] = i;
        hzs[t++] = hz;
      }
    }
    this.a = a, this.b = b, this.c = c, this.d = d;
    return t;
  }

  /**
   * Standard normal by Marsaglia and Tsang's ziggurat (2000): one 32-bit
   * draw and a table lookup for about 99% of samples, so initialising tens
   * of millions of weights takes tens of milliseconds.
   */
  normal(): number {
    const hz = this.u32() | 0;
    const iz = hz & 127;
    if (Math.abs(hz) < KN[iz]) return hz * WN[iz];
    return this.normalTail(hz, iz);
  }

  private normalTail(hz: number, iz: number): number {
    const r = 3.442619855899;
    for (;;) {
      const x = hz * WN[iz];
      if (iz === 0) {
        let x0: number, y: number;
        do {
          x0 = -Math.log(1 - this.uniform()) / r;
          y = -Math.log(1 - this.uniform());
        } while (y + y < x0 * x0);
        return hz > 0 ? r + x0 : -r - x0;
      }
      if (FN[iz] + this.uniform() * (FN[iz - 1] - FN[iz]) < Math.exp(-0.5 * x * x)) return x;
      hz = this.u32() | 0;
      iz = hz & 127;
      if (Math.abs(hz) < KN[iz]) return hz * WN[iz];
    }
  }
}

/** Words drawn per run of fillUniform and fillNormal (fillNormal's values depend on it). */
const CHUNK = 4096;

function f32(out: Float32Array | Float64Array): Float32Array {
  if (out instanceof Float32Array) return out;
  throw new TypeError("a fill's `then` takes f32 values: fill a Float32Array");
}

/**
 * v[i] *= k for every value of v, each product rounded to f32: in the
 * kernel when v is a view of its output (a fill's `then`), else in a loop.
 */
export function scaleValues(v: Float32Array, k: number): void {
  const kern = fillKernel();
  if (kern && v.buffer === kern.out.buffer) {
    kern.scale((v.byteOffset - kern.out.byteOffset) >> 2, v.length, k);
  } else scaleRun(v, k);
}

/** v[i] *= k (its own function, so that V8 optimises the loop; see normalRun). */
function scaleRun(v: Float32Array, k: number): void {
  for (let i = 0; i < v.length; i++) v[i] *= k;
}

let kernel: FillKernel | undefined | null = null;

/** The WebAssembly fills, assembled on first use (undefined without WebAssembly). */
function fillKernel(): FillKernel | undefined {
  if (kernel === null) kernel = makeFillKernel({ KN, WN, FN });
  return kernel;
}

// Ziggurat tables for the normal density, 128 layers (Marsaglia & Tsang).
const KN = new Float64Array(128);
const WN = new Float64Array(128);
const FN = new Float64Array(128);
{
  const m1 = 2147483648;
  let dn = 3.442619855899;
  let tn = dn;
  const vn = 9.91256303526217e-3;
  const q = vn / Math.exp(-0.5 * dn * dn);
  KN[0] = (dn / q) * m1;
  KN[1] = 0;
  WN[0] = q / m1;
  WN[127] = dn / m1;
  FN[0] = 1;
  FN[127] = Math.exp(-0.5 * dn * dn);
  for (let i = 126; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(vn / dn + Math.exp(-0.5 * dn * dn)));
    KN[i + 1] = (dn / tn) * m1;
    tn = dn;
    FN[i] = Math.exp(-0.5 * dn * dn);
    WN[i] = dn / m1;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A small deterministic generator of floats in [0, 1) (mulberry32), for tests and tools that
 * need reproducible choices (mutations, random graphs) rather than the initialisers' streams.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
