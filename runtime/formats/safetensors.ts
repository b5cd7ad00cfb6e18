/**
 * The safetensors format (huggingface/safetensors, docs "Format"):
 *
 *   N (u64 LE)  header (N bytes of UTF-8 JSON)  data section
 *
 * The header maps tensor names to `{dtype, shape, data_offsets: [begin, end]}`
 * with offsets relative to the data section, plus an optional `__metadata__`
 * object of string to string. Reading checks what the reference Rust
 * implementation checks: the header is at most 100 MB, the tensors cover the
 * data section exactly (no gaps, no overlaps, nothing after the last one), and
 * each byte range has the size its shape and dtype require.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import { allocData, type DType, DTYPES, numel, type Tensor } from "../../compiler/ir/tensor.ts";
import { lazyChunks } from "../../compiler/ir/init.ts";
import { tensorBytes } from "../../compiler/onnx/tensor_proto.ts";

/** The reference implementation's limit on the header size. */
export const MAX_HEADER_BYTES = 100_000_000;

const BY_NAME = new Map<string, DType>(
  (Object.keys(DTYPES) as DType[])
    .filter((d) => DTYPES[d].safetensors)
    .map((d) => [DTYPES[d].safetensors!, d]),
);

/** The tensors and metadata of a safetensors file. */
export interface Safetensors {
  /** Tensors in the order of their data in the file. */
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/**
 * Parse a safetensors file. `path` only names the file in error messages.
 * Every malformation raises DLM0402.
 *
 * @example
 * ```ts
 * const { tensors } = readSafetensors(Deno.readFileSync("w.safetensors"), "w.safetensors");
 * ```
 */
export function readSafetensors(bytes: Uint8Array, path?: string): Safetensors {
  const where = path !== undefined ? `safetensors file '${path}'` : "safetensors data";
  const bad = (problem: string): never => fail(...diag("DLM0402", where, problem));

  if (bytes.length < 8) bad(`expected at least 8 bytes for the header size, found ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) {
    bad(`the header size ${n64} is larger than the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  const n = Number(n64);
  if (8 + n > bytes.length) {
    bad(`the header size ${n} is larger than the ${bytes.length - 8} bytes after it`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    bad("the header is not valid UTF-8");
  }
  if (!text!.startsWith("{")) bad(`expected the header to start with '{', found ${snippet(text!)}`);
  let header: unknown;
  try {
    header = JSON.parse(text!);
  } catch (e) {
    bad(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    bad("expected the header to be a JSON object");
  }

  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: DType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof info !== "object" || info === null || Array.isArray(info)) {
        bad("expected '__metadata__' to be an object of strings");
      }
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== "string") {
          bad(`expected metadata '${k}' to be a string, found ${JSON.stringify(v)}`);
        }
        metadata[k] = v as string;
      }
      continue;
    }
    const t = `tensor '${name}'`;
    if (typeof info !== "object" || info === null || Array.isArray(info)) {
      bad(`expected ${t} to be an object with dtype, shape and data_offsets`);
    }
    const { dtype, shape, data_offsets: offs } = info as Record<string, unknown>;
    const d = typeof dtype === "string" ? BY_NAME.get(dtype) : undefined;
    if (!d) {
      bad(
        `${t} has unsupported dtype ${JSON.stringify(dtype)}; expected one of ${
          [...BY_NAME.keys()].join(", ")
        }`,
      );
    }
    if (!Array.isArray(shape) || !shape.every(isSize)) {
      bad(`${t} has an invalid shape ${JSON.stringify(shape)}; expected non-negative integers`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isSize) || offs[0] > offs[1]) {
      bad(`${t} has invalid data_offsets ${JSON.stringify(offs)}; expected [begin, end]`);
    }
    const [begin, end] = offs as number[];
    const want = numel(shape as number[]) * DTYPES[d!].bytes;
    if (end - begin !== want) {
      bad(
        `${t} of shape [${
          (shape as number[]).join(", ")
        }] and dtype ${dtype} needs ${want} bytes, ` +
          `but its data_offsets [${begin}, ${end}] hold ${end - begin}`,
      );
    }
    entries.push({ name, dtype: d!, shape: shape as number[], begin, end });
  }

  // Tensors must tile the data section: sorted by offset, each starts where the previous ended.
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev = "";
  for (const e of entries) {
    if (e.begin < pos) {
      bad(`tensor '${e.name}' at bytes [${e.begin}, ${e.end}] overlaps tensor '${prev}'`);
    }
    if (e.begin > pos) {
      bad(`the ${e.begin - pos} bytes before tensor '${e.name}' belong to no tensor`);
    }
    if (e.end > dataLen) {
      bad(
        `tensor '${e.name}' at bytes [${e.begin}, ${e.end}] is past the end of the data ` +
          `(${dataLen} bytes; the file is truncated)`,
      );
    }
    pos = e.end;
    prev = e.name;
  }
  if (pos !== dataLen) bad(`${dataLen - pos} bytes after the last tensor belong to no tensor`);

  const tensors = new Map<string, Tensor>();
  for (const e of entries) {
    const data = allocData(e.dtype, numel(e.shape)) as Exclude<Tensor["data"], string[]>;
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      .set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    tensors.set(e.name, { dtype: e.dtype, shape: [...e.shape], data });
  }
  return { tensors, metadata };
}

/**
 * Encode tensors as safetensors, their data in the given order. The header is
 * padded with spaces to a multiple of 8 bytes so the data section is aligned.
 * A dtype safetensors cannot hold (str), a duplicate name, or the reserved
 * name `__metadata__` raises DLM0409.
 */
export function writeSafetensors(
  tensors: Map<string, Tensor> | [string, Tensor][],
  metadata?: Record<string, string>,
): Uint8Array {
  const list = [...tensors];
  const { head, size } = safetensorsHeader(list, metadata);
  const out = new Uint8Array(size);
  out.set(head);
  let pos = head.length;
  for (const [, t] of list) {
    const b = tensorBytes(t);
    out.set(b, pos);
    pos += b.byteLength;
  }
  return out;
}

/**
 * writeSafetensors' bytes as consecutive ranges, for a file writer
 * (runtime/fs.ts writeFilesAtomic): a weight not drawn yet (ir/init.ts) is
 * drawn a chunk at a time into one reused buffer and not kept, so saving
 * ResNet-50's initial weights touches no 100 MB of fresh memory. Errors are
 * raised by this call, before any byte is produced.
 *
 * @example
 * ```ts
 * writeFilesAtomic([{ path: "w.safetensors", bytes: safetensorsChunks(weights) }]);
 * ```
 */
export function safetensorsChunks(
  tensors: Map<string, Tensor> | [string, Tensor][],
  metadata?: Record<string, string>,
): Iterable<Uint8Array> {
  const list = [...tensors];
  const { head } = safetensorsHeader(list, metadata);
  return {
    *[Symbol.iterator]() {
      yield head;
      for (const [, t] of list) {
        const drawn = t.dtype === "f32" ? lazyChunks(t) : undefined;
        if (!drawn) yield tensorBytes(t);
        else for (const c of drawn) yield tensorBytes({ dtype: "f32", shape: [c.length], data: c });
      }
    },
  };
}

/** The length prefix and padded JSON header of a safetensors file, and the file's size. */
function safetensorsHeader(
  list: [string, Tensor][],
  metadata?: Record<string, string>,
): { head: Uint8Array; size: number } {
  const seen = new Set<string>();
  // The header is built by hand: JSON.stringify of an object would move
  // integer-like names ("0", "1") to the front and lose the given order.
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length) {
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const [name, t] of list) {
    const st = DTYPES[t.dtype].safetensors;
    if (!st) {
      fail(
        ...diag("DLM0409", `tensor '${name}' as safetensors`, `dtype ${t.dtype} is not supported`),
      );
    }
    if (name === "__metadata__") {
      fail(...diag("DLM0409", "a tensor named '__metadata__'", "the name is reserved"));
    }
    if (seen.has(name)) {
      fail(...diag("DLM0409", "safetensors", `tensor '${name}' is given twice`));
    }
    seen.add(name);
    const len = numel(t.shape) * DTYPES[t.dtype].bytes;
    parts.push(
      `${JSON.stringify(name)}:{"dtype":"${st}","shape":${JSON.stringify(t.shape)},` +
        `"data_offsets":[${offset},${offset + len}]}`,
    );
    offset += len;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const headerLen = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + headerLen);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLen), true);
  head.set(json, 8);
  head.fill(0x20, 8 + json.length, 8 + headerLen);
  return { head, size: 8 + headerLen + offset };
}

function isSize(v: unknown): boolean {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function snippet(s: string): string {
  return JSON.stringify(s.length > 40 ? s.slice(0, 37) + "..." : s);
}
