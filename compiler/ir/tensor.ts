/**
 * Tensors and element types shared by the compiler, the reference interpreter
 * and the file formats. One place maps dlm dtypes to ONNX element types and to
 * JavaScript typed arrays.
 */

/** Element types, spelled as in .dlm source (`f32[N, 3]`). */
export type DType =
  | "f32"
  | "f64"
  | "f16"
  | "bf16"
  | "i8"
  | "i16"
  | "i32"
  | "i64"
  | "u8"
  | "u16"
  | "u32"
  | "u64"
  | "bool"
  | "str";

/** Storage of each dtype. f16/bf16 keep their raw bits in a Uint16Array. */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | string[];

/** A dense, row-major tensor with a concrete shape. */
export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

interface DTypeInfo {
  /** ONNX TensorProto.DataType code. */
  onnx: number;
  /** Bytes per element (0 for strings). */
  bytes: number;
  /** safetensors dtype name. */
  safetensors?: string;
  /** numpy dtype descriptor, little-endian. */
  numpy?: string;
}

export const DTYPES: Record<DType, DTypeInfo> = {
  f32: { onnx: 1, bytes: 4, safetensors: "F32", numpy: "<f4" },
  u8: { onnx: 2, bytes: 1, safetensors: "U8", numpy: "|u1" },
  i8: { onnx: 3, bytes: 1, safetensors: "I8", numpy: "|i1" },
  u16: { onnx: 4, bytes: 2, safetensors: "U16", numpy: "<u2" },
  i16: { onnx: 5, bytes: 2, safetensors: "I16", numpy: "<i2" },
  i32: { onnx: 6, bytes: 4, safetensors: "I32", numpy: "<i4" },
  i64: { onnx: 7, bytes: 8, safetensors: "I64", numpy: "<i8" },
  str: { onnx: 8, bytes: 0 },
  bool: { onnx: 9, bytes: 1, safetensors: "BOOL", numpy: "|b1" },
  f16: { onnx: 10, bytes: 2, safetensors: "F16", numpy: "<f2" },
  f64: { onnx: 11, bytes: 8, safetensors: "F64", numpy: "<f8" },
  u32: { onnx: 12, bytes: 4, safetensors: "U32", numpy: "<u4" },
  u64: { onnx: 13, bytes: 8, safetensors: "U64", numpy: "<u8" },
  bf16: { onnx: 16, bytes: 2, safetensors: "BF16" },
};

/** The element types a tensor type may name in .dlm source (every dtype but "str"). */
export const TENSOR_DTYPES: readonly DType[] = [
  "f32",
  "f64",
  "f16",
  "bf16",
  "i8",
  "i16",
  "i32",
  "i64",
  "u8",
  "u16",
  "u32",
  "u64",
  "bool",
];

const BY_ONNX = new Map<number, DType>(
  (Object.keys(DTYPES) as DType[]).map((d) => [DTYPES[d].onnx, d]),
);

/** The dlm dtype of an ONNX element type code, or undefined if unsupported. */
export function dtypeFromOnnx(code: number): DType | undefined {
  return BY_ONNX.get(code);
}

export function isFloat(d: DType): boolean {
  return d === "f32" || d === "f64" || d === "f16" || d === "bf16";
}

export function isInteger(d: DType): boolean {
  return d.startsWith("i") || d.startsWith("u");
}

/** Number of elements of a concrete shape (1 for a scalar). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A zero-filled typed array of `n` elements of `dtype`. */
export function allocData(dtype: DType, n: number): TensorData {
  switch (dtype) {
    case "f32":
      return new Float32Array(n);
    case "f64":
      return new Float64Array(n);
    case "f16":
    case "bf16":
    case "u16":
      return new Uint16Array(n);
    case "i8":
      return new Int8Array(n);
    case "i16":
      return new Int16Array(n);
    case "i32":
      return new Int32Array(n);
    case "i64":
      return new BigInt64Array(n);
    case "u8":
    case "bool":
      return new Uint8Array(n);
    case "u32":
      return new Uint32Array(n);
    case "u64":
      return new BigUint64Array(n);
    case "str":
      return new Array<string>(n).fill("");
  }
}

/**
 * The most elements of a constant the compiler computes itself at compile time (a table of
 * positions, a pooling matrix, anchors, a mask): 2^28, a gibibyte of f32. Real tables are far
 * smaller; larger ones only exhaust memory before they could be used. `LIMITS.constantElements`
 * in compiler/check/limits.ts is this.
 */
export const MAX_CONSTANT_ELEMENTS = 2 ** 28;

/**
 * A constant too large to compute: thrown by `table` before anything is allocated; the
 * elaborator (or autodiff, for a gradient rule's table) reports it as DLM0303 at the call.
 */
export class TooLarge extends Error {
  /** The arguments of DLM0350's message: what, its elements, its shape, the limit. */
  readonly args: [string, string, string, string];
  constructor(readonly what: string, readonly shape: readonly number[]) {
    const n = shape.reduce((p, d) => p * d, 1);
    const args: [string, string, string, string] = [
      what,
      n.toLocaleString("en-US"),
      shape.join(", "),
      MAX_CONSTANT_ELEMENTS.toLocaleString("en-US"),
    ];
    super(`${what} would be a constant of ${args[1]} elements ([${args[2]}])`);
    this.args = args;
    this.name = "TooLarge";
  }
}

/**
 * A constant computed at compile time: the one way such tables are allocated, so that each is
 * checked against `MAX_CONSTANT_ELEMENTS` first (TooLarge). Zero-filled, or element i is `at(i)`.
 *
 * @example
 * const pos = table("i64", [n], "arange()", (i) => i); // 0, 1, ..., n-1
 */
export function table(
  dtype: DType,
  shape: readonly number[],
  what: string,
  at?: (i: number) => number,
): Tensor {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`internal: ${what} of shape [${shape.join(", ")}]`);
  }
  if (numel(shape) > MAX_CONSTANT_ELEMENTS) throw new TooLarge(what, shape);
  const t = zeros(dtype, [...shape]);
  if (at) { for (let i = 0; i < t.data.length; i++) setNumber(t, i, at(i)); }
  return t;
}

/** A new zero-filled tensor. */
export function zeros(dtype: DType, shape: number[]): Tensor {
  return { dtype, shape: [...shape], data: allocData(dtype, numel(shape)) };
}

/** A tensor from plain numbers (bigint conversion for 64-bit integer types). */
export function tensor(dtype: DType, shape: number[], values: ArrayLike<number>): Tensor {
  const t = zeros(dtype, shape);
  if (values.length !== t.data.length) {
    throw new Error(`tensor(): ${values.length} values for shape [${shape}]`);
  }
  if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) {
    for (let i = 0; i < values.length; i++) t.data[i] = BigInt(Math.trunc(values[i]));
  } else {
    (t.data as Float32Array).set(values as ArrayLike<number>);
  }
  return t;
}

/** Element `i` of a numeric tensor as a JS number (f16/bf16 decoded). */
export function getNumber(t: Tensor, i: number): number {
  const v = t.data[i];
  if (typeof v === "bigint") return Number(v);
  if (t.dtype === "f16") return f16ToF32(v as number);
  if (t.dtype === "bf16") return bf16ToF32(v as number);
  return v as number;
}

/** Set element `i` of a numeric tensor from a JS number (f16/bf16 encoded, integers truncated). */
export function setNumber(t: Tensor, i: number, v: number): void {
  if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) {
    t.data[i] = BigInt(Math.trunc(v));
  } else if (t.dtype === "f16") (t.data as Uint16Array)[i] = f32ToF16(v);
  else if (t.dtype === "bf16") (t.data as Uint16Array)[i] = f32ToBf16(v);
  else (t.data as Float32Array)[i] = v;
}

/** All elements of a numeric tensor as an array of JS numbers. */
export function toNumbers(t: Tensor): number[] {
  const out = new Array<number>(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = getNumber(t, i);
  return out;
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** IEEE half (raw bits) to a JS number. */
export function f16ToF32(h: number): number {
  const s = (h & 0x8000) ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * Math.pow(2, -14) * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * Math.pow(2, e - 15) * (1 + f / 1024);
}

/** A JS number to IEEE half raw bits (round to nearest even). */
export function f32ToF16(v: number): number {
  f32buf[0] = v;
  const x = u32buf[0];
  const sign = (x >>> 16) & 0x8000;
  let exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (exp << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  exp = half >> 10;
  return sign | half;
}

export function bf16ToF32(h: number): number {
  u32buf[0] = h << 16;
  return f32buf[0];
}

export function f32ToBf16(v: number): number {
  f32buf[0] = v;
  const x = u32buf[0];
  if (Number.isNaN(v)) return 0x7fc0;
  const lsb = (x >>> 16) & 1;
  return ((x + 0x7fff + lsb) >>> 16) & 0xffff;
}
