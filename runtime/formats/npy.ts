/**
 * The NumPy `.npy` format (format versions 1.0, 2.0 and 3.0), as specified in
 * numpy/lib/format.py:
 *
 *   "\x93NUMPY" major minor  header_len  header  data
 *   6 bytes     u8    u8     u16 (1.0) / u32 LE (2.0, 3.0)
 *
 * The header is a Python dict literal `{'descr': '<f4', 'fortran_order': False,
 * 'shape': (2, 3), }`, latin-1 in 1.0/2.0 and UTF-8 in 3.0, padded with spaces
 * and ended by "\n". Data follows in C order.
 *
 * Choices where the format leaves room:
 * - big-endian data (`>i4`) is converted to little-endian on read;
 * - `fortran_order: True` is rejected (dlm tensors are row-major and a
 *   silent transpose would be a wrong answer);
 * - bytes after the data are rejected: a file longer than its header says is
 *   more likely a concatenation or a corrupt header than something to ignore;
 * - bool bytes other than 0 read as true (1), as numpy does.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import { allocData, type DType, DTYPES, numel, type Tensor } from "../../compiler/ir/tensor.ts";
import { tensorBytes } from "../../compiler/onnx/tensor_proto.ts";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** numpy type code (kind + item size, no byte order) -> dlm dtype. */
const BY_CODE: Record<string, DType> = {
  f2: "f16",
  f4: "f32",
  f8: "f64",
  i1: "i8",
  i2: "i16",
  i4: "i32",
  i8: "i64",
  u1: "u8",
  u2: "u16",
  u4: "u32",
  u8: "u64",
  b1: "bool",
};

/**
 * Parse a `.npy` file. `path` only names the file in error messages.
 * Every malformation raises DLM0406.
 *
 * @example
 * ```ts
 * const t = readNpy(Deno.readFileSync("x.npy"), "x.npy"); // { dtype: "f32", shape: [2, 3], ... }
 * ```
 */
export function readNpy(bytes: Uint8Array, path?: string): Tensor {
  const where = path !== undefined ? `.npy file '${path}'` : ".npy data";
  const bad = (problem: string): never => fail(...diag("DLM0406", where, problem));

  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    bad(`expected the magic string "\\x93NUMPY" at the start, found ${quoteBytes(bytes, 6)}`);
  }
  const major = bytes[6], minor = bytes[7];
  if (major < 1 || major > 3 || minor !== 0) {
    bad(`expected format version 1.0, 2.0 or 3.0, found ${major}.${minor}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) bad("the file ends inside the header length");
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lenBytes;
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) {
    bad(`the header is ${headerLen} bytes long but only ${bytes.length - headerStart} remain`);
  }
  const raw = bytes.subarray(headerStart, dataStart);
  const text = major === 3 ? new TextDecoder("utf-8").decode(raw) : latin1(raw);

  let header: unknown;
  try {
    header = parsePyLiteral(text);
  } catch (e) {
    bad(`the header is not a Python literal (${(e as Error).message}): ${quote(text.trim())}`);
  }
  if (!isDict(header)) bad(`expected the header to be a dict, found ${quote(text.trim())}`);
  const h = header as Record<string, unknown>;
  for (const k of ["descr", "fortran_order", "shape"]) {
    if (!(k in h)) bad(`the header has no '${k}' key: ${quote(text.trim())}`);
  }
  const extra = Object.keys(h).filter((k) => !["descr", "fortran_order", "shape"].includes(k));
  if (extra.length) bad(`the header has unexpected keys ${extra.map((k) => `'${k}'`).join(", ")}`);

  const descr = h.descr;
  if (typeof descr !== "string") {
    bad(`unsupported dtype ${quote(text.trim())}: structured arrays are not supported`);
  }
  const m = /^([<>|=]?)([a-z]\d+)$/.exec(descr as string);
  const dtype = m ? BY_CODE[m[2]] : undefined;
  if (!m || !dtype) {
    bad(
      `unsupported dtype '${descr}'; expected one of ${
        Object.keys(BY_CODE).map((c) => `'${c}'`).join(", ")
      } with byte order '<', '>', '|' or '='`,
    );
  }
  const bigEndian = m![1] === ">";

  if (typeof h.fortran_order !== "boolean") {
    bad(`expected 'fortran_order' to be True or False, found ${quote(String(h.fortran_order))}`);
  }
  const shape = h.shape;
  if (
    !Array.isArray(shape) ||
    !shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)
  ) {
    bad(`expected 'shape' to be a tuple of non-negative integers, found ${quote(text.trim())}`);
  }
  const dims = shape as number[];
  if (h.fortran_order === true && dims.filter((d) => d > 1).length > 1) {
    // With at most one dimension above 1, Fortran and C order are the same bytes.
    bad("fortran_order is True; save the array C-contiguous (np.ascontiguousarray) instead");
  }

  const d = dtype!;
  const n = numel(dims);
  const size = DTYPES[d].bytes;
  const want = n * size;
  const have = bytes.length - dataStart;
  if (!Number.isSafeInteger(want) || have < want) {
    bad(
      `the data is truncated: shape (${
        dims.join(", ")
      }) of ${d} needs ${want} bytes, found ${have}`,
    );
  }
  if (have > want) {
    bad(
      `${have - want} bytes of trailing data after the ${want} bytes that shape (${
        dims.join(", ")
      }) needs`,
    );
  }

  const data = allocData(d, n) as Exclude<Tensor["data"], string[]>;
  const dst = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  dst.set(bytes.subarray(dataStart, dataStart + want));
  if (bigEndian && size > 1) swapBytes(dst, size);
  if (d === "bool") { for (let i = 0; i < n; i++) if (dst[i]) dst[i] = 1; }
  return { dtype: d, shape: [...dims], data };
}

/**
 * Encode a tensor as `.npy` (format 1.0, or 2.0 when the header does not fit
 * 1.0's 16-bit length). Tensors of dtypes numpy has no code for (bf16, str)
 * raise DLM0409.
 */
export function writeNpy(t: Tensor): Uint8Array {
  const descr = DTYPES[t.dtype].numpy;
  if (!descr || t.dtype === "str") {
    fail(...diag("DLM0409", `a ${t.dtype} tensor as .npy`, `numpy has no '${t.dtype}' dtype`));
  }
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(", ")})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // numpy pads magic + length + header + "\n" to a multiple of 64 bytes so the
  // data is aligned for memory mapping.
  let major = 1;
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    major = 2;
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  const headerLen = total - prefix;
  const header = dict + " ".repeat(headerLen - dict.length - 1) + "\n";
  const data = tensorBytes(t);
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLen, true);
  else view.setUint32(8, headerLen, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(data, total);
  return out;
}

function swapBytes(b: Uint8Array, size: number): void {
  for (let i = 0; i < b.length; i += size) {
    for (let j = 0, k = size - 1; j < k; j++, k--) {
      const x = b[i + j];
      b[i + j] = b[i + k];
      b[i + k] = x;
    }
  }
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

function quote(s: string): string {
  return `'${s.length > 120 ? s.slice(0, 117) + "..." : s}'`;
}

function quoteBytes(b: Uint8Array, n: number): string {
  const parts = [...b.subarray(0, n)].map((c) =>
    c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, "0")}`
  );
  return `"${parts.join("")}"`;
}

function isDict(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The subset of Python literals numpy writes in headers: dicts, tuples,
 * lists, strings, integers (with Python 2's `L` suffix), True/False/None.
 * Dicts become null-prototype objects; tuples and lists become arrays.
 */
function parsePyLiteral(src: string): unknown {
  let i = 0;
  const ws = () => {
    while (i < src.length && /\s/.test(src[i])) i++;
  };
  const expect = (c: string) => {
    ws();
    if (src[i] !== c) throw new Error(`expected '${c}' at offset ${i}`);
    i++;
  };
  const seq = (close: string, item: () => void) => {
    ws();
    while (src[i] !== close) {
      if (i >= src.length) throw new Error(`missing '${close}'`);
      item();
      ws();
      if (src[i] === ",") i++;
      else if (src[i] !== close) throw new Error(`expected ',' or '${close}' at offset ${i}`);
      ws();
    }
    i++;
  };
  const value = (): unknown => {
    ws();
    const c = src[i];
    if (c === "{") {
      i++;
      const obj: Record<string, unknown> = Object.create(null);
      seq("}", () => {
        const k = value();
        if (typeof k !== "string") throw new Error("dict keys must be strings");
        expect(":");
        obj[k] = value();
      });
      return obj;
    }
    if (c === "(" || c === "[") {
      i++;
      const arr: unknown[] = [];
      seq(c === "(" ? ")" : "]", () => arr.push(value()));
      return arr;
    }
    if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new Error("unterminated string");
      const s = src.slice(i + 1, end);
      if (s.includes("\\")) throw new Error("escapes in strings are not supported");
      i = end + 1;
      return s;
    }
    const m = /^(-?\d+)L?|^(True|False|None)\b/.exec(src.slice(i));
    if (!m) {
      throw new Error(`unexpected ${src[i] === undefined ? "end" : `'${src[i]}'`} at offset ${i}`);
    }
    i += m[0].length;
    if (m[1] !== undefined) return Number(m[1]);
    return m[2] === "True" ? true : m[2] === "False" ? false : null;
  };
  const v = value();
  ws();
  if (i !== src.length) throw new Error(`unexpected '${src[i]}' at offset ${i}`);
  return v;
}
