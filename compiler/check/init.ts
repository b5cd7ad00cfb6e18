/**
 * Seeded parameter initialisation. Each parameter draws from its own stream,
 * seeded by the global seed and the parameter's hierarchical name, so a
 * parameter's values do not depend on the order of definition or on other
 * layers: adding a layer never changes the initial values of the others.
 */
import { type Tensor, zeros } from "../ir/tensor.ts";

/** How to fill a parameter. Fan values are computed from its shape and role. */
export type InitSpec =
  | { kind: "zeros" }
  | { kind: "ones" }
  | { kind: "constant"; value: number }
  | { kind: "normal"; mean: number; std: number }
  | { kind: "uniform"; low: number; high: number }
  | { kind: "kaiming_normal"; a: number; mode: "fan_in" | "fan_out"; nonlinearity: Nonlinearity }
  | { kind: "kaiming_uniform"; a: number; mode: "fan_in" | "fan_out"; nonlinearity: Nonlinearity }
  | { kind: "xavier_normal"; gain: number }
  | { kind: "xavier_uniform"; gain: number }
  | { kind: "trunc_normal"; mean: number; std: number; a: number; b: number }
  /** PyTorch's default bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) of the owning weight. */
  | { kind: "bias_default"; fanIn: number };

export type Nonlinearity = "relu" | "leaky_relu" | "linear" | "tanh" | "sigmoid" | "selu";

/** Names accepted in .dlm (`init conv2d.weight = kaiming_normal(mode: "fan_out")`). */
export const INIT_NAMES = [
  "zeros",
  "ones",
  "constant",
  "normal",
  "uniform",
  "kaiming_normal",
  "kaiming_uniform",
  "xavier_normal",
  "xavier_uniform",
  "trunc_normal",
  // Short forms: kaiming_normal and xavier_uniform.
  "kaiming",
  "xavier",
] as const;

/** PyTorch's fan computation: dim 1 is fan-in, dim 0 fan-out, times the receptive field. */
export function fans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  let rf = 1;
  for (let i = 2; i < shape.length; i++) rf *= shape[i];
  return { fanIn: shape[1] * rf, fanOut: shape[0] * rf };
}

export function gain(nl: Nonlinearity, a = 0): number {
  switch (nl) {
    case "relu":
      return Math.SQRT2;
    case "leaky_relu":
      return Math.sqrt(2 / (1 + a * a));
    case "tanh":
      return 5 / 3;
    case "selu":
      return 3 / 4;
    default:
      return 1;
  }
}

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
 * A small, fast PRNG (xorshift128+ over 32-bit halves would do; we use
 * mulberry32-seeded xoshiro128**) producing uniform [0, 1) floats.
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

  /** Fill `out` with U[low, high): the same values as calling uniform() in a loop, faster. */
  fillUniform(out: Float32Array | Float64Array, low: number, high: number): void {
    const w = (high - low) / 4294967296;
    const n = Math.min(4096, out.length);
    const buf = new Int32Array(n);
    for (let base = 0; base < out.length; base += n) {
      const m = Math.min(n, out.length - base);
      this.fillU32(buf, m);
      for (let j = 0; j < m; j++) out[base + j] = low + w * (buf[j] >>> 0);
    }
  }

  /** Fill `out` with N(mean, std^2) (its own order of draws: not the values of normal() in a loop). */
  fillNormal(out: Float32Array | Float64Array, mean: number, std: number): void {
    // Draw 32-bit words a cache-sized chunk at a time (a tight loop), map them
    // through the ziggurat's fast path with no calls in the loop, then finish
    // the few (~3%) samples that need the slow path from further words.
    const n = Math.min(4096, out.length);
    const buf = new Int32Array(n);
    const tails = new Int32Array(n);
    for (let base = 0; base < out.length; base += n) {
      const m = Math.min(n, out.length - base);
      this.fillU32(buf, m);
      let t = 0;
      for (let j = 0; j < m; j++) {
        const hz = buf[j];
        const iz = hz & 127;
        if (Math.abs(hz) < KN[iz]) out[base + j] = mean + std * (hz * WN[iz]);
        else tails[t++] = j;
      }
      for (let q = 0; q < t; q++) {
        const j = tails[q];
        out[base + j] = mean + std * this.normalTail(buf[j], buf[j] & 127);
      }
    }
  }

  /** The next `m` words of the stream into `buf` (as int32). */
  fillU32(buf: Int32Array, m: number): void {
    let a = this.a, b = this.b, c = this.c, d = this.d;
    for (let i = 0; i < m; i++) {
      buf[i] = Math.imul(rotl(Math.imul(b, 5), 7), 9);
      const t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = (d << 11) | (d >>> 21);
    }
    this.a = a, this.b = b, this.c = c, this.d = d;
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

/** A new f32 tensor of `shape` filled per `spec`, from the stream of `name` under `seed`. */
export function initTensor(spec: InitSpec, shape: number[], name: string, seed: number): Tensor {
  const t = zeros("f32", shape);
  const d = t.data as Float32Array;
  const n = d.length;
  const { fanIn, fanOut } = fans(shape);
  const fill = (low: number, high: number) => Rng.forName(seed, name).fillUniform(d, low, high);
  const normal = (mean: number, std: number) => Rng.forName(seed, name).fillNormal(d, mean, std);
  switch (spec.kind) {
    case "zeros":
      break;
    case "ones":
      d.fill(1);
      break;
    case "constant":
      d.fill(spec.value);
      break;
    case "normal":
      normal(spec.mean, spec.std);
      break;
    case "uniform":
      fill(spec.low, spec.high);
      break;
    case "trunc_normal": {
      const rng = Rng.forName(seed, name);
      for (let i = 0; i < n; i++) {
        let v: number;
        let tries = 0;
        do v = spec.mean + spec.std * rng.normal(); while (
          (v < spec.a || v > spec.b) && ++tries < 100
        );
        d[i] = Math.min(spec.b, Math.max(spec.a, v));
      }
      break;
    }
    case "kaiming_normal":
    case "kaiming_uniform": {
      const fan = spec.mode === "fan_in" ? fanIn : fanOut;
      const std = gain(spec.nonlinearity, spec.a) / Math.sqrt(Math.max(1, fan));
      if (spec.kind === "kaiming_normal") normal(0, std);
      else fill(-Math.sqrt(3) * std, Math.sqrt(3) * std);
      break;
    }
    case "xavier_normal":
    case "xavier_uniform": {
      const std = spec.gain * Math.sqrt(2 / Math.max(1, fanIn + fanOut));
      if (spec.kind === "xavier_normal") normal(0, std);
      else fill(-Math.sqrt(3) * std, Math.sqrt(3) * std);
      break;
    }
    case "bias_default": {
      const b = spec.fanIn > 0 ? 1 / Math.sqrt(spec.fanIn) : 0;
      fill(-b, b);
      break;
    }
  }
  return t;
}

/** PyTorch's default for conv/linear weights: kaiming_uniform(a = sqrt(5)). */
export const TORCH_DEFAULT_WEIGHT: InitSpec = {
  kind: "kaiming_uniform",
  a: Math.sqrt(5),
  mode: "fan_in",
  nonlinearity: "leaky_relu",
};

/**
 * What a lazily initialised parameter will hold: its initialiser, and
 * optionally a per-channel scale applied afterwards (batch-norm folding
 * scales a still-undrawn conv weight without drawing it first).
 */
export interface LazyJob {
  spec: InitSpec;
  shape: number[];
  name: string;
  seed: number;
  /** Multiply run c (of `per` contiguous values) by scale[c]. */
  scale?: number[];
  per?: number;
}

const LAZY = new WeakMap<Tensor, LazyJob>();

/** The values of a job, drawn now. */
function runJob(job: LazyJob): Float32Array {
  const d = initTensor(job.spec, job.shape, job.name, job.seed).data as Float32Array;
  if (job.scale && job.per) {
    for (let c = 0, i = 0; c < job.scale.length; c++) {
      const k = job.scale[c];
      for (const end = i + job.per; i < end; i++) d[i] *= k;
    }
  }
  return d;
}

/** The pending job of a tensor whose values have not been drawn yet, else undefined. */
export function pendingJob(t: Tensor): LazyJob | undefined {
  const desc = Object.getOwnPropertyDescriptor(t, "data");
  return desc?.get ? LAZY.get(t) : undefined;
}

/** Give a lazy tensor its values. */
function settle(t: Tensor, data: Float32Array): void {
  Object.defineProperty(t, "data", {
    value: data,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/**
 * A parameter tensor whose values are drawn on first read of `data`.
 * Checking a model (`dlm check`, `dlm params`) never reads them, so it
 * costs no initialisation even for VGG16's 138M weights; compiling reads
 * each once. Values are the same as `initTensor`'s: the stream depends only
 * on the seed and the name.
 */
export function lazyInitTensor(
  spec: InitSpec,
  shape: number[],
  name: string,
  seed: number,
): Tensor {
  return lazyTensor({ spec, shape: [...shape], name, seed });
}

function lazyTensor(job: LazyJob): Tensor {
  const t = { dtype: "f32", shape: [...job.shape] } as Tensor;
  LAZY.set(t, job);
  Object.defineProperty(t, "data", {
    configurable: true,
    enumerable: true,
    get() {
      const data = runJob(job);
      settle(t, data);
      return data;
    },
    set(v) {
      settle(t, v);
    },
  });
  return t;
}

/**
 * `t` with run c of `per` values scaled by `scale[c]`, still lazy when `t`
 * is: the values are drawn and scaled in one pass when first read.
 * Undefined when `t` already has values (the caller scales them itself).
 */
export function lazyScaled(t: Tensor, scale: number[], per: number): Tensor | undefined {
  const job = pendingJob(t);
  if (!job || job.scale) return undefined;
  return lazyTensor({ ...job, scale: [...scale], per });
}
