/**
 * Helpers shared by the reference kernels: attribute access with ONNX
 * defaults, dtype-generic element access, numpy-style broadcasting, index
 * maps for data movement, and reduction bookkeeping.
 *
 * Numeric data is read through two views: `numbers()` gives JS numbers
 * (f16/bf16 decoded, 64-bit integers converted, exact below 2^53) for float
 * maths; `elems()` gives the raw elements (bigint for 64-bit integers), so
 * `+ - * % < ==` written once work exactly on every integer type.
 */
import type { AttrValue } from "../../compiler/ir/graph.ts";
import {
  allocData,
  bf16ToF32,
  type DType,
  dtypeFromOnnx,
  DTYPES,
  f16ToF32,
  f32ToBf16,
  f32ToF16,
  numel,
  type Tensor,
} from "../../compiler/ir/tensor.ts";
import { kernelFail } from "./kernel.ts";

export { kernelFail };

/** Typed arrays holding JS numbers. */
export type NumArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array;

/** Throw a KernelError with `message` when `cond` holds. */
export function kernelFailIf(cond: boolean, message: string): void {
  if (cond) kernelFail(message);
}

// ---------------------------------------------------------------------------
// Attributes

/** An INT attribute, or `def` when absent. */
export function attrInt(attrs: Record<string, AttrValue>, name: string, def: number): number {
  const v = attrs[name];
  if (v === undefined) return def;
  if (typeof v !== "number") kernelFail(`Attribute '${name}' must be an integer`);
  return v;
}

/** A FLOAT attribute, or `def` when absent. */
export function attrFloat(attrs: Record<string, AttrValue>, name: string, def: number): number {
  const v = attrs[name];
  if (v === undefined) return def;
  if (typeof v !== "number") kernelFail(`Attribute '${name}' must be a number`);
  return v;
}

/** An INTS/FLOATS attribute, or undefined when absent. */
export function attrInts(attrs: Record<string, AttrValue>, name: string): number[] | undefined {
  const v = attrs[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) kernelFail(`Attribute '${name}' must be a list of numbers`);
  return v as number[];
}

/** A STRING attribute, or `def` when absent. */
export function attrString(attrs: Record<string, AttrValue>, name: string, def: string): string {
  const v = attrs[name];
  if (v === undefined) return def;
  if (typeof v !== "string") kernelFail(`Attribute '${name}' must be a string`);
  return v;
}

/** A STRINGS attribute, or undefined when absent. */
export function attrStrings(
  attrs: Record<string, AttrValue>,
  name: string,
): string[] | undefined {
  const v = attrs[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) kernelFail(`Attribute '${name}' must be a list of strings`);
  return v as string[];
}

/** The dtype named by an ONNX element-type attribute such as Cast's `to`. */
export function attrDType(attrs: Record<string, AttrValue>, name: string, def?: DType): DType {
  const v = attrs[name];
  if (v === undefined) {
    if (def) return def;
    kernelFail(`Attribute '${name}' is required`);
  }
  const d = dtypeFromOnnx(v as number);
  if (!d) kernelFail(`Attribute '${name}' names unsupported element type ${v}`);
  return d;
}

// ---------------------------------------------------------------------------
// Inputs

/** Input `i`, which the op requires. */
export function input(inputs: (Tensor | undefined)[], i: number, what = `input ${i}`): Tensor {
  const t = inputs[i];
  if (!t) kernelFail(`Missing required ${what}`);
  return t;
}

/** An integer tensor (shapes, axes, indices) as JS numbers. */
export function intsOf(t: Tensor): number[] {
  const out = new Array<number>(t.data.length);
  if (t.dtype === "str") kernelFail("Expected an integer tensor, found a string tensor");
  for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
  return out;
}

/** The single element of a tensor as a number. */
export function scalarOf(t: Tensor): number {
  if (t.data.length !== 1) {
    kernelFail(`Expected a single value, found a tensor of shape [${t.shape.join(", ")}]`);
  }
  return numbers(t)[0];
}

// ---------------------------------------------------------------------------
// Element access

/** Elements as JS numbers: the data itself when it already holds numbers. */
export function numbers(t: Tensor): NumArray {
  const d = t.data;
  switch (t.dtype) {
    case "f16":
    case "bf16": {
      const dec = t.dtype === "f16" ? f16ToF32 : bf16ToF32;
      const raw = d as Uint16Array;
      const out = new Float32Array(raw.length);
      for (let i = 0; i < raw.length; i++) out[i] = dec(raw[i]);
      return out;
    }
    case "i64":
    case "u64": {
      const raw = d as BigInt64Array;
      const out = new Float64Array(raw.length);
      for (let i = 0; i < raw.length; i++) out[i] = Number(raw[i]);
      return out;
    }
    case "str":
      kernelFail("Expected a numeric tensor, found a string tensor");
      break;
    default:
      return d as NumArray;
  }
}

/** Raw elements: bigint for 64-bit integers, numbers otherwise (f16/bf16 decoded). */
export function elems(t: Tensor): ArrayLike<any> {
  return t.dtype === "f16" || t.dtype === "bf16" ? numbers(t) : t.data;
}

/** True for dtypes whose elements are bigints. */
export function isBig(d: DType): boolean {
  return d === "i64" || d === "u64";
}

/**
 * A tensor of `dtype` from computed values (numbers, bigints or booleans).
 * Floats round to the dtype; integer types truncate toward zero and wrap as
 * typed arrays do; bool is `v != 0` (NaN is true, as in numpy).
 */
export function fromValues(dtype: DType, shape: number[], values: ArrayLike<any>): Tensor {
  const n = values.length;
  if (n !== numel(shape)) {
    kernelFail(`Internal: ${n} values for shape [${shape.join(", ")}]`);
  }
  const data = allocData(dtype, n);
  switch (dtype) {
    case "f16":
    case "bf16": {
      const enc = dtype === "f16" ? f32ToF16 : f32ToBf16;
      const out = data as Uint16Array;
      for (let i = 0; i < n; i++) out[i] = enc(Number(values[i]));
      break;
    }
    case "i64":
    case "u64": {
      const out = data as BigInt64Array;
      for (let i = 0; i < n; i++) out[i] = toBigInt(values[i]);
      break;
    }
    case "bool": {
      const out = data as Uint8Array;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        out[i] = (typeof v === "bigint" ? v !== 0n : v !== 0 && v !== false) ? 1 : 0;
      }
      break;
    }
    case "str": {
      const out = data as string[];
      for (let i = 0; i < n; i++) out[i] = String(values[i]);
      break;
    }
    case "f32":
    case "f64": {
      const out = data as Float32Array;
      if (values instanceof Float32Array || values instanceof Float64Array) out.set(values);
      else for (let i = 0; i < n; i++) out[i] = Number(values[i]);
      break;
    }
    default: {
      // Integers: truncate toward zero; the typed array wraps to its width.
      const out = data as Int32Array;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        out[i] = typeof v === "bigint" ? Number(BigInt.asIntN(32, v)) : Math.trunc(Number(v));
      }
    }
  }
  return { dtype, shape: [...shape], data };
}

function toBigInt(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "boolean") return v ? 1n : 0n;
  const x = Number(v);
  if (!Number.isFinite(x)) return x > 0 ? 0x7fffffffffffffffn : x < 0 ? -0x8000000000000000n : 0n;
  return BigInt(Math.trunc(x));
}

/**
 * A scratch array for `n` results of `dtype` and a function turning it into
 * the tensor. f32/f64 and the 8–32-bit integers are written in place; the
 * others (f16, bf16, 64-bit, bool) are computed in f64 and converted once.
 */
export function scratch(dtype: DType, n: number): NumArray {
  switch (dtype) {
    case "f32":
    case "f64":
    case "i8":
    case "i16":
    case "i32":
    case "u8":
    case "u32":
      return allocData(dtype, n) as NumArray;
    case "u16":
      return new Uint16Array(n);
    default:
      return new Float64Array(n);
  }
}

/** The tensor of a `scratch()` array filled with results. */
export function finish(dtype: DType, shape: number[], arr: NumArray): Tensor {
  const direct = dtype === "f32"
    ? arr instanceof Float32Array
    : dtype === "f64"
    ? arr instanceof Float64Array
    : dtype === "i8"
    ? arr instanceof Int8Array
    : dtype === "i16"
    ? arr instanceof Int16Array
    : dtype === "i32"
    ? arr instanceof Int32Array
    : dtype === "u8"
    ? arr instanceof Uint8Array
    : dtype === "u16"
    ? arr instanceof Uint16Array
    : dtype === "u32"
    ? arr instanceof Uint32Array
    : false;
  if (direct) {
    if (arr.length !== numel(shape)) kernelFail(`Internal: result size does not match [${shape}]`);
    return { dtype, shape: [...shape], data: arr };
  }
  return fromValues(dtype, shape, arr);
}

/** A tensor with new shape and the same data (tensors are never mutated). */
export function reshaped(t: Tensor, shape: number[]): Tensor {
  if (numel(shape) !== t.data.length) {
    kernelFail(
      `Cannot reshape a tensor of ${t.data.length} elements to [${shape.join(", ")}]`,
    );
  }
  return { dtype: t.dtype, shape: [...shape], data: t.data };
}

/** An i64 tensor from integers. */
export function i64Tensor(shape: number[], values: ArrayLike<number>): Tensor {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]);
  return { dtype: "i64", shape: [...shape], data };
}

/** True for the float dtypes. */
export function isFloatType(d: DType): boolean {
  return d === "f32" || d === "f64" || d === "f16" || d === "bf16";
}

/** Byte size check used by kernels that must not allocate absurd outputs. */
export function checkSize(shape: number[], dtype: DType): void {
  const n = numel(shape);
  if (!Number.isFinite(n) || n * Math.max(1, DTYPES[dtype].bytes) > 2 ** 31) {
    kernelFail(`Output of shape [${shape.join(", ")}] is too large`);
  }
}

// ---------------------------------------------------------------------------
// Shapes and broadcasting

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** A possibly negative axis in [-rank, rank) as a non-negative one. */
export function normAxis(axis: number, rank: number, what = "axis"): number {
  if (axis < -rank || axis >= rank) {
    kernelFail(`Expected ${what} in [${-rank}, ${rank - 1}], found ${axis}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** The numpy broadcast of several shapes. */
export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i];
      if (out[o] === 1) out[o] = d;
      else if (d !== 1 && d !== out[o]) {
        kernelFail(
          `Cannot broadcast shapes ${shapes.map((x) => `[${x.join(", ")}]`).join(" and ")}: ` +
            `dim ${o} is ${out[o]} and ${d}`,
        );
      }
    }
  }
  return out;
}

/**
 * For each flat index of `outShape`, the flat index of the element of a
 * tensor of `inShape` broadcast to it; null when the shapes are equal.
 */
export function broadcastMap(
  outShape: readonly number[],
  inShape: readonly number[],
): Int32Array | null {
  if (sameShape(outShape, inShape)) return null;
  const rank = outShape.length;
  const inStr = stridesOf(inShape);
  // Stride of each output dim in the input (0 where broadcast or missing).
  const str = new Array<number>(rank).fill(0);
  for (let i = 0; i < inShape.length; i++) {
    const o = rank - inShape.length + i;
    str[o] = inShape[i] === 1 ? 0 : inStr[i];
  }
  return indexMap(outShape, str, 0);
}

/**
 * For each flat index of `shape` (row-major), `offset + sum(coord[d] * str[d])`.
 * The workhorse of transposes, slices and broadcasts.
 */
export function indexMap(
  shape: readonly number[],
  str: readonly number[],
  offset: number,
): Int32Array {
  const n = numel(shape);
  const out = new Int32Array(n);
  const rank = shape.length;
  if (n === 0) return out;
  if (rank === 0) {
    out[0] = offset;
    return out;
  }
  // Innermost dim in a tight loop; an odometer over the outer dims.
  const inner = shape[rank - 1];
  const innerStr = str[rank - 1];
  const coord = new Array<number>(rank).fill(0);
  let base = offset;
  for (let i = 0; i < n; i += inner) {
    for (let j = 0; j < inner; j++) out[i + j] = base + j * innerStr;
    for (let d = rank - 2; d >= 0; d--) {
      coord[d]++;
      base += str[d];
      if (coord[d] < shape[d]) break;
      base -= str[d] * shape[d];
      coord[d] = 0;
    }
  }
  return out;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A new tensor whose element i is `x.data[map[i]]` (any dtype, no conversion). */
export function gatherFlat(x: Tensor, shape: number[], map: Int32Array): Tensor {
  const data = allocData(x.dtype, map.length);
  const src = x.data as any;
  const dst = data as any;
  for (let i = 0; i < map.length; i++) dst[i] = src[map[i]];
  return { dtype: x.dtype, shape: [...shape], data };
}

/** `x` broadcast to `shape` (a copy). */
export function broadcastTo(x: Tensor, shape: number[]): Tensor {
  const map = broadcastMap(shape, x.shape);
  return map ? gatherFlat(x, shape, map) : x;
}

// ---------------------------------------------------------------------------
// Elementwise

/**
 * Elementwise unary op on JS numbers (f16/bf16/64-bit converted), with the
 * result stored as `outDtype`.
 */
export function unaryNumeric(
  x: Tensor,
  fn: (v: number) => number,
  outDtype: DType = x.dtype,
): Tensor {
  const src = numbers(x);
  const out = scratch(outDtype, src.length);
  for (let i = 0; i < src.length; i++) out[i] = fn(src[i]);
  return finish(outDtype, x.shape, out);
}

/** Elementwise unary op on raw elements (bigint for 64-bit integers). */
export function unaryElems(x: Tensor, fn: (v: any) => any, outDtype: DType = x.dtype): Tensor {
  const src = elems(x);
  const fast = !isBig(outDtype) && outDtype !== "bool" && outDtype !== "str";
  const out: any = fast ? scratch(outDtype, src.length) : new Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = fn(src[i]);
  return fast ? finish(outDtype, x.shape, out) : fromValues(outDtype, x.shape, out);
}

/**
 * Elementwise binary op with numpy broadcasting on raw elements: `fn` sees
 * bigints for 64-bit integers and numbers otherwise, so a polymorphic
 * `(a, b) => a + b` is exact for every type.
 */
export function binaryElems(
  a: Tensor,
  b: Tensor,
  fn: (x: any, y: any) => any,
  outDtype: DType = a.dtype,
): Tensor {
  const shape = broadcastShapes(a.shape, b.shape);
  const n = numel(shape);
  const ea = elems(a), eb = elems(b);
  const ma = broadcastMap(shape, a.shape), mb = broadcastMap(shape, b.shape);
  const fast = !isBig(outDtype) && outDtype !== "bool" && outDtype !== "str";
  const out: any = fast ? scratch(outDtype, n) : new Array(n);
  if (!ma && !mb) { for (let i = 0; i < n; i++) out[i] = fn(ea[i], eb[i]); }
  else if (!ma) { for (let i = 0; i < n; i++) out[i] = fn(ea[i], eb[mb![i]]); }
  else if (!mb) { for (let i = 0; i < n; i++) out[i] = fn(ea[ma[i]], eb[i]); }
  else for (let i = 0; i < n; i++) out[i] = fn(ea[ma[i]], eb[mb[i]]);
  return fast ? finish(outDtype, shape, out) : fromValues(outDtype, shape, out);
}

/** Elementwise binary op on JS numbers with broadcasting (float maths). */
export function binaryNumeric(
  a: Tensor,
  b: Tensor,
  fn: (x: number, y: number) => number,
  outDtype: DType = a.dtype,
): Tensor {
  const shape = broadcastShapes(a.shape, b.shape);
  const n = numel(shape);
  const na = numbers(a), nb = numbers(b);
  const ma = broadcastMap(shape, a.shape), mb = broadcastMap(shape, b.shape);
  const out = scratch(outDtype, n);
  for (let i = 0; i < n; i++) out[i] = fn(na[ma ? ma[i] : i], nb[mb ? mb[i] : i]);
  return finish(outDtype, shape, out);
}

/** Same dtype check for ops whose inputs must agree. */
export function sameDType(ts: (Tensor | undefined)[], op: string): void {
  const first = ts.find((t) => t);
  for (const t of ts) {
    if (t && first && t.dtype !== first.dtype) {
      kernelFail(`${op} expects inputs of one dtype, found ${first.dtype} and ${t.dtype}`);
    }
  }
}

// ---------------------------------------------------------------------------
// Reductions

/** Bookkeeping of a reduction: output shape and each input element's output slot. */
export interface Reduction {
  /** Output shape (reduced dims kept as 1 when keepdims). */
  shape: number[];
  /** Number of output elements. */
  size: number;
  /** For each input flat index, its output flat index. */
  map: Int32Array;
  /** Number of input elements folded into each output element. */
  count: number;
}

/**
 * Plan a reduction of `shape` over `axes` (all axes when empty, unless
 * `noopWithEmptyAxes`, which reduces nothing).
 */
export function planReduction(
  shape: readonly number[],
  axes: readonly number[] | undefined,
  keepdims: boolean,
  noopWithEmptyAxes = false,
): Reduction {
  const rank = shape.length;
  let set: Set<number>;
  if (!axes || axes.length === 0) {
    set = noopWithEmptyAxes ? new Set() : new Set(shape.map((_, i) => i));
  } else set = new Set(axes.map((a) => normAxis(a, rank)));
  const kept = shape.map((d, i) => (set.has(i) ? 1 : d));
  const outShape = keepdims ? kept : shape.filter((_, i) => !set.has(i));
  const keptStr = stridesOf(kept);
  const str = shape.map((_, i) => (set.has(i) ? 0 : keptStr[i]));
  const map = indexMap(shape, str, 0);
  let count = 1;
  for (const a of set) count *= shape[a];
  return { shape: outShape, size: numel(kept), map, count };
}

/**
 * Gather by per-dimension maps: output coordinate `o` of dim `d` reads input
 * coordinate `dimMaps[d][o]`, or is `fill` when that is negative (padding).
 * Covers Tile, Pad, and any movement that acts on each dim separately.
 */
export function gatherByDims(
  x: Tensor,
  outShape: number[],
  dimMaps: Int32Array[],
  fill?: unknown,
): Tensor {
  const str = stridesOf(x.shape);
  // Build the flat source index of every output element one dim at a time.
  let flat = new Int32Array([0]);
  for (let d = 0; d < outShape.length; d++) {
    const m = dimMaps[d];
    const next = new Int32Array(flat.length * outShape[d]);
    let k = 0;
    for (let i = 0; i < flat.length; i++) {
      const base = flat[i];
      for (let o = 0; o < outShape[d]; o++) {
        next[k++] = base < 0 || m[o] < 0 ? -1 : base + m[o] * str[d];
      }
    }
    flat = next;
  }
  const data = allocData(x.dtype, flat.length);
  const src = x.data as any, dst = data as any;
  const f = fill === undefined ? (x.dtype === "str" ? "" : 0) : fill;
  const big = isBig(x.dtype);
  const fillValue = big && typeof f !== "bigint" ? BigInt(Math.trunc(Number(f))) : f;
  for (let i = 0; i < flat.length; i++) dst[i] = flat[i] < 0 ? fillValue : src[flat[i]];
  return { dtype: x.dtype, shape: [...outShape], data };
}
