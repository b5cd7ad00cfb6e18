/**
 * Seeded parameter initialisation. Each parameter draws from its own stream,
 * seeded by the global seed and the parameter's hierarchical name, so a
 * parameter's values do not depend on the order of definition or on other
 * layers: adding a layer never changes the initial values of the others.
 */
import { zeros, type Tensor } from "../ir/tensor.ts";

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
  // Short forms from the issue text.
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
  #a: number;
  #b: number;
  #c: number;
  #d: number;
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
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next() || 1;
  }
  static forName(seed: number, name: string): Rng {
    return new Rng(seedFor(seed, name));
  }
  /** Next uint32 (xoshiro128**). */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9);
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return r >>> 0;
  }
  /** Uniform in [0, 1). */
  uniform(): number {
    return this.u32() / 4294967296;
  }
  /** Standard normal (Box-Muller; one value per call, deterministic). */
  normal(): number {
    const u = 1 - this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
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
  const fill = (low: number, high: number) => {
    const rng = Rng.forName(seed, name);
    const w = high - low;
    for (let i = 0; i < n; i++) d[i] = low + w * (rng.u32() / 4294967296);
  };
  const normal = (mean: number, std: number) => {
    const rng = Rng.forName(seed, name);
    for (let i = 0; i < n; i++) d[i] = mean + std * rng.normal();
  };
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
        do v = spec.mean + spec.std * rng.normal(); while ((v < spec.a || v > spec.b) && ++tries < 100);
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
