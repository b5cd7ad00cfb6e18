/**
 * dlm Tensor <-> onnxruntime Tensor. Both runtimes (node and web) share the
 * onnxruntime-common Tensor API, so the constructor is passed in rather than
 * imported: the web package bundles its own copy of the class.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import type { DType, Tensor, TensorData } from "../../compiler/ir/tensor.ts";

/** The part of onnxruntime-common's Tensor that the conversion uses. */
export interface OrtTensorLike {
  type: string;
  dims: readonly number[];
  data: unknown;
}

/** onnxruntime-common's `new Tensor(type, data, dims)`. */
export type OrtTensorCtor = new (type: any, data: any, dims?: readonly number[]) => OrtTensorLike;

const TO_ORT: Partial<Record<DType, string>> = {
  f32: "float32",
  f64: "float64",
  f16: "float16",
  i8: "int8",
  i16: "int16",
  i32: "int32",
  i64: "int64",
  u8: "uint8",
  u16: "uint16",
  u32: "uint32",
  u64: "uint64",
  bool: "bool",
  str: "string",
};

const FROM_ORT = new Map<string, DType>(
  Object.entries(TO_ORT).map(([d, o]) => [o as string, d as DType]),
);

/** The onnxruntime element type name of a dlm dtype ("float32" for f32). */
export function ortType(dtype: DType): string | undefined {
  return TO_ORT[dtype];
}

/**
 * An onnxruntime tensor sharing `t`'s data. bf16 has no onnxruntime-js
 * counterpart and raises DLM0602.
 */
export function toOrt(t: Tensor, Ctor: OrtTensorCtor, name = ""): OrtTensorLike {
  const type = TO_ORT[t.dtype];
  if (!type) {
    fail(
      ...diag(
        "DLM0602",
        "onnxruntime",
        "the model",
        `input '${name}' is ${t.dtype}, which onnxruntime's JavaScript API cannot pass`,
      ),
    );
  }
  // float16 takes the raw bits as a Uint16Array; onnxruntime views them as
  // Float16Array itself where the platform has one.
  return new Ctor(type, t.data, t.shape);
}

/**
 * A dlm tensor of an onnxruntime tensor's data: a copy, or with `owned` (the
 * runtime handed the buffer over and keeps no reference) the same buffer.
 */
export function fromOrt(o: OrtTensorLike, name = "", owned = false): Tensor {
  const dtype = FROM_ORT.get(o.type);
  if (!dtype) {
    fail(...diag("DLM0414", `Output '${name}'`, `element type '${o.type}'`));
  }
  const shape = [...o.dims].map(Number);
  const src = o.data as ArrayBufferView | string[];
  let data: TensorData;
  if (Array.isArray(src)) {
    data = [...src];
  } else if (dtype === "f16") {
    // Float16Array (or Uint16Array) -> the raw bits dlm keeps for f16.
    data = new Uint16Array(src.buffer.slice(src.byteOffset, src.byteOffset + src.byteLength));
  } else if (dtype === "bool" && !(src instanceof Uint8Array)) {
    data = Uint8Array.from(src as unknown as ArrayLike<number>, (v) => (v ? 1 : 0));
  } else {
    data = owned
      ? src as unknown as TensorData
      : (src as unknown as { slice(): TensorData }).slice();
  }
  return { dtype, shape, data };
}
