/**
 * Conversion between dlm tensors and ONNX TensorProto messages. Encoding
 * always uses raw_data (little-endian), which is what onnxruntime reads
 * fastest; decoding accepts every field the specification allows.
 */
import { allocData, dtypeFromOnnx, DTYPES, numel, type Tensor } from "../ir/tensor.ts";
import { diag, fail } from "../diagnostics.ts";
import { longToBigInt, longToNumber } from "./long.ts";
import type { TensorMsg } from "./wire.ts";

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Raw little-endian bytes of a numeric tensor's data (a view when possible). */
export function tensorBytes(t: Tensor): Uint8Array {
  if (t.dtype === "str") throw new Error("tensorBytes(): string tensor");
  const d = t.data as Exclude<Tensor["data"], string[]>;
  if (!LITTLE_ENDIAN) throw new Error("big-endian hosts are not supported");
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** A tensor whose data is copied from raw little-endian bytes. */
export function tensorFromBytes(
  dtype: Tensor["dtype"],
  shape: number[],
  bytes: Uint8Array,
): Tensor {
  const n = numel(shape);
  const data = allocData(dtype, n);
  const want = n * DTYPES[dtype].bytes;
  if (bytes.byteLength !== want) {
    throw new RangeError(
      `expected ${want} bytes for ${dtype}[${shape.join(", ")}], found ${bytes.byteLength}`,
    );
  }
  const dst = data as Exclude<Tensor["data"], string[]>;
  new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(bytes);
  return { dtype, shape: [...shape], data };
}

/**
 * A TensorProto message for a tensor: a plain object that wire.ts encodes,
 * and that onnx-proto's `TensorProto.encode` takes too.
 */
export function toTensorProto(t: Tensor, name = ""): TensorMsg {
  const msg: TensorMsg = {
    name,
    dims: t.shape,
    dataType: DTYPES[t.dtype].onnx,
  };
  if (t.dtype === "str") {
    const enc = new TextEncoder();
    msg.stringData = (t.data as string[]).map((s) => enc.encode(s));
  } else {
    // A view, not a copy: IR tensors are immutable, and the message is
    // encoded right away (copying 100 MB of weights cost tens of ms).
    msg.rawData = tensorBytes(t);
  }
  return msg;
}

/**
 * A tensor from a decoded TensorProto. `baseDir` resolves external data.
 * Malformed messages raise DLM0405.
 */
export function fromTensorProto(p: any, baseDir?: string): Tensor {
  const dtype = dtypeFromOnnx(p.dataType);
  const where = p.name ? ` '${p.name}'` : "";
  if (!dtype) fail(...diag("DLM0414", `Tensor${where}`, `element type ${p.dataType}`));
  const shape = (p.dims ?? []).map(longToNumber);
  if (shape.some((d: number) => !Number.isInteger(d) || d < 0)) {
    fail(...diag("DLM0405", `ONNX tensor${where}`, `its shape [${shape.join(", ")}] is invalid`));
  }
  const n = numel(shape);
  if (p.dataLocation === 1 || (p.externalData && p.externalData.length > 0)) {
    return readExternal(p, dtype, shape, baseDir);
  }
  if (p.rawData && p.rawData.length > 0) {
    try {
      return tensorFromBytes(dtype, shape, p.rawData);
    } catch (e) {
      fail(...diag("DLM0405", `ONNX tensor${where}`, (e as Error).message));
    }
  }
  const data = allocData(dtype, n);
  const src = pickField(p, dtype);
  if (src.length !== n) {
    fail(
      ...diag(
        "DLM0405",
        `ONNX tensor${where}`,
        `its shape is [${shape.join(", ")}] but it holds ${src.length} values`,
      ),
    );
  }
  switch (dtype) {
    case "str": {
      const dec = new TextDecoder();
      for (let i = 0; i < n; i++) (data as string[])[i] = dec.decode(src[i]);
      break;
    }
    case "i64":
      for (let i = 0; i < n; i++) (data as BigInt64Array)[i] = longToBigInt(src[i]);
      break;
    case "u64":
      for (let i = 0; i < n; i++) {
        (data as BigUint64Array)[i] = BigInt.asUintN(64, longToBigInt(src[i]));
      }
      break;
    case "u32":
      for (let i = 0; i < n; i++) (data as Uint32Array)[i] = longToNumber(src[i]);
      break;
    default:
      // int32_data carries i8/i16/i32/u8/u16/bool and the bits of f16/bf16.
      for (let i = 0; i < n; i++) (data as Float32Array)[i] = src[i] as number;
  }
  return { dtype, shape, data };
}

function pickField(p: any, dtype: Tensor["dtype"]): any[] {
  switch (dtype) {
    case "f32":
      return p.floatData ?? [];
    case "f64":
      return p.doubleData ?? [];
    case "i64":
      return p.int64Data ?? [];
    case "u32":
    case "u64":
      return p.uint64Data ?? [];
    case "str":
      return p.stringData ?? [];
    default:
      return p.int32Data ?? [];
  }
}

function readExternal(p: any, dtype: Tensor["dtype"], shape: number[], baseDir?: string): Tensor {
  const kv = new Map<string, string>();
  for (const e of p.externalData ?? []) kv.set(e.key, e.value);
  const location = kv.get("location");
  const where = p.name ? ` '${p.name}'` : "";
  if (!location) {
    fail(...diag("DLM0405", `ONNX tensor${where}`, "its external data has no location"));
  }
  if (location.includes("..") || location.startsWith("/")) {
    fail(
      ...diag(
        "DLM0405",
        `ONNX tensor${where}`,
        "its external data lies outside the model's folder",
      ),
    );
  }
  const path = baseDir ? `${baseDir}/${location}` : location;
  const offset = Number(kv.get("offset") ?? 0);
  const want = numel(shape) * DTYPES[dtype].bytes;
  const length = kv.has("length") ? Number(kv.get("length")) : want;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    fail(...diag("DLM0401", `external data '${path}' of tensor${where}`, (e as Error).message));
  }
  try {
    const buf = new Uint8Array(length);
    file.seekSync(offset, Deno.SeekMode.Start);
    let got = 0;
    while (got < length) {
      const r = file.readSync(buf.subarray(got));
      if (r === null || r === 0) break;
      got += r;
    }
    if (got !== length || length !== want) {
      fail(
        ...diag(
          "DLM0405",
          `ONNX tensor${where}`,
          `its external data is truncated: ${got} of ${want} bytes`,
        ),
      );
    }
    return tensorFromBytes(dtype, shape, buf);
  } finally {
    file.close();
  }
}
