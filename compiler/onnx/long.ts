/**
 * protobuf int64 values as JS numbers and bigints: a decoded int64 is a
 * `Long` object (protobufjs with the `long` package), a number or a string.
 * Apart from proto.ts so that modules which only convert values
 * (tensor_proto.ts, and through it the safetensors and npy writers) do not
 * load onnx-proto.
 */

/** A protobuf int64 (a `Long` object or a number) as a JS number. */
export function longToNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (v && typeof v === "object" && "low" in v && "high" in v) {
    const l = v as { low: number; high: number; unsigned?: boolean };
    const hi = l.unsigned ? l.high >>> 0 : l.high;
    return hi * 4294967296 + (l.low >>> 0);
  }
  if (typeof v === "string") return Number(v);
  return 0;
}

/** A protobuf int64 as a bigint (exact for every value). */
export function longToBigInt(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return BigInt(v);
  if (v && typeof v === "object" && "low" in v && "high" in v) {
    const l = v as { low: number; high: number; unsigned?: boolean };
    const big = (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
    return l.unsigned ? big : BigInt.asIntN(64, big);
  }
  return BigInt(String(v));
}
