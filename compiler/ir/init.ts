/**
 * Seeded parameter initialisation. Each parameter draws from its own stream,
 * seeded by the global seed and the parameter's hierarchical name, so a
 * parameter's values do not depend on the order of definition or on other
 * layers: adding a layer never changes the initial values of the others.
 *
 * A parameter can stay lazy (its values drawn when first read), and a lazy
 * one can be drawn a chunk at a time into a small reused buffer, so that
 * writing a model streams its weights to the file without ever holding them
 * all: on this machine the first touch of 100 MB of fresh memory alone costs
 * about 300 ms of CPU, more than drawing ResNet-50's 25.6M numbers does.
 *
 * This sits with the IR because a lazy tensor is a Tensor, and the passes
 * (batch-norm folding scales a lazy weight) and the ONNX writer handle it;
 * the language's names for initialisers live in check/init.ts.
 */
import { Rng, scaleValues } from "./rng.ts";
import { numel, type Tensor, zeros } from "./tensor.ts";

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

/** PyTorch's fan computation: dim 1 is fan-in, dim 0 fan-out, times the receptive field. */
export function fans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  let rf = 1;
  for (let i = 2; i < shape.length; i++) rf *= shape[i];
  return { fanIn: shape[1] * rf, fanOut: shape[0] * rf };
}

/** PyTorch's recommended gain for a nonlinearity (`torch.nn.init.calculate_gain`). */
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

/** A new f32 tensor of `shape` filled per `spec`, from the stream of `name` under `seed`. */
export function initTensor(spec: InitSpec, shape: number[], name: string, seed: number): Tensor {
  const t = zeros("f32", shape);
  new Draw({ spec, shape, name, seed }).next(t.data as Float32Array);
  return t;
}

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

/** Values per chunk of lazyChunks: 256 KB (cache-sized), a multiple of fillNormal's 4096. */
export const DRAW_CHUNK = 65536;

/**
 * A job's values in order, drawn by successive `next(dst)` calls that fill
 * `dst` with the following dst.length values. The values do not depend on
 * how they are split, as long as every call but the last fills a multiple
 * of 4096 values (fillNormal consumes its stream 4096 words at a time).
 */
class Draw {
  #rng?: Rng;
  #pos = 0;
  /** Fill dst; `then` as Rng.fillNormal's (the fills that have no pieces call it on dst). */
  #fill: (dst: Float32Array, then?: (values: Float32Array, base: number) => void) => void;

  constructor(readonly job: LazyJob) {
    const { spec, shape, name, seed } = job;
    const rng = () => this.#rng ??= Rng.forName(seed, name);
    const uniform = (low: number, high: number) => (d: Float32Array, then?: Then) =>
      rng().fillUniform(d, low, high, then);
    const normal = (mean: number, std: number) => (d: Float32Array, then?: Then) =>
      rng().fillNormal(d, mean, std, then);
    const fill = (v: number) => (d: Float32Array, then?: Then) => {
      d.fill(v);
      then?.(d, 0);
    };
    const { fanIn, fanOut } = fans(shape);
    switch (spec.kind) {
      case "zeros":
        this.#fill = fill(0);
        break;
      case "ones":
        this.#fill = fill(1);
        break;
      case "constant":
        this.#fill = fill(spec.value);
        break;
      case "normal":
        this.#fill = normal(spec.mean, spec.std);
        break;
      case "uniform":
        this.#fill = uniform(spec.low, spec.high);
        break;
      case "trunc_normal":
        this.#fill = (d, then) => {
          truncNormal(d, rng(), spec.mean, spec.std, spec.a, spec.b);
          then?.(d, 0);
        };
        break;
      case "kaiming_normal":
      case "kaiming_uniform": {
        const fan = spec.mode === "fan_in" ? fanIn : fanOut;
        const std = gain(spec.nonlinearity, spec.a) / Math.sqrt(Math.max(1, fan));
        this.#fill = spec.kind === "kaiming_normal"
          ? normal(0, std)
          : uniform(-Math.sqrt(3) * std, Math.sqrt(3) * std);
        break;
      }
      case "xavier_normal":
      case "xavier_uniform": {
        const std = spec.gain * Math.sqrt(2 / Math.max(1, fanIn + fanOut));
        this.#fill = spec.kind === "xavier_normal"
          ? normal(0, std)
          : uniform(-Math.sqrt(3) * std, Math.sqrt(3) * std);
        break;
      }
      case "bias_default": {
        const b = spec.fanIn > 0 ? 1 / Math.sqrt(spec.fanIn) : 0;
        this.#fill = uniform(-b, b);
        break;
      }
    }
  }

  /**
   * Fill `dst` with the next dst.length values: drawn, then scaled per
   * channel (on each piece as it is drawn, in the kernel's memory).
   */
  next(dst: Float32Array): void {
    const { scale, per } = this.job;
    const pos = this.#pos;
    this.#fill(
      dst,
      scale && per ? (v, base) => scaleChannels(v, pos + base, scale, per) : undefined,
    );
    this.#pos += dst.length;
  }
}

type Then = (values: Float32Array, base: number) => void;

/** Scale v, values start..start+v.length of a tensor whose channel c (`per` values) has scale[c]. */
function scaleChannels(v: Float32Array, start: number, scale: number[], per: number): void {
  const end = start + v.length;
  for (let c = Math.floor(start / per); c < scale.length && c * per < end; c++) {
    const from = Math.max(c * per, start), to = Math.min((c + 1) * per, end);
    scaleValues(v.subarray(from - start, to - start), scale[c]);
  }
}

/** The values of N(mean, std^2) that fall in [a, b]: redrawn up to 100 times, then clamped. */
function truncNormal(d: Float32Array, rng: Rng, mean: number, std: number, a: number, b: number) {
  for (let i = 0; i < d.length; i++) {
    let v: number;
    let tries = 0;
    do v = mean + std * rng.normal(); while ((v < a || v > b) && ++tries < 100);
    d[i] = Math.min(b, Math.max(a, v));
  }
}

const LAZY = new WeakMap<Tensor, LazyJob>();

/** The pending job of a tensor whose values have not been drawn yet, else undefined. */
export function pendingJob(t: Tensor): LazyJob | undefined {
  const desc = Object.getOwnPropertyDescriptor(t, "data");
  return desc?.get ? LAZY.get(t) : undefined;
}

/**
 * The values of a tensor whose values have not been drawn yet, a chunk at a
 * time, without keeping them (the tensor stays lazy); undefined when `t`
 * already has values. Each chunk is valid until the next one is asked for:
 * it is the same buffer, refilled.
 *
 * @example
 * ```ts
 * const chunks = lazyChunks(weight);
 * if (chunks) for (const c of chunks) file.writeSync(new Uint8Array(c.buffer, 0, c.byteLength));
 * ```
 */
export function lazyChunks(t: Tensor, chunk = DRAW_CHUNK): Iterable<Float32Array> | undefined {
  const job = pendingJob(t);
  if (!job) return undefined;
  if (chunk % 4096 !== 0) {
    throw new RangeError(`lazyChunks(): chunk ${chunk} is not a multiple of 4096`);
  }
  return {
    *[Symbol.iterator]() {
      const n = numel(job.shape);
      const draw = new Draw(job);
      const buf = new Float32Array(Math.min(chunk, n));
      for (let at = 0; at < n; at += buf.length) {
        const d = n - at < buf.length ? buf.subarray(0, n - at) : buf;
        draw.next(d);
        yield d;
      }
    },
  };
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
 * costs no initialisation even for VGG16's 138M weights; compiling draws
 * them as it writes the file (lazyChunks). Values are the same as
 * `initTensor`'s: the stream depends only on the seed and the name.
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
      const data = zeros("f32", job.shape).data as Float32Array;
      new Draw(job).next(data);
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
