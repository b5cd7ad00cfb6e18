/**
 * The ONNX messages the emitter writes, encoded by hand: ModelProto (without
 * its graph, which emit.ts appends), GraphProto, NodeProto, AttributeProto,
 * TensorProto, ValueInfoProto and the messages inside them.
 *
 * Why not protobufjs (onnx-proto), which still decodes: loading it costs
 * `dlm compile` about 25 ms of its ~300 ms whole process on ResNet-50
 * (CommonJS through Deno's node compatibility, `long`, the generated
 * classes), and its encoder another ~10 ms of the graph's 50 KB.
 *
 * The bytes are protobufjs's, byte for byte (wire_test.ts encodes every
 * example model both ways): each message takes the same plain objects that
 * `onnx.X.create` takes and writes the same fields in the same order (the
 * generated `encode`'s order), under protobufjs's rules: a singular field
 * is written when it is set (not null or undefined), even to its default
 * (`name: ""` is written); a repeated field when it is not empty; repeated
 * numbers packed (`dims`, `floats`, `ints`); int64 and int32 values below
 * zero as ten-byte two's-complement varints.
 */

/** An int64 as protobufjs takes it: a number (a safe integer), or a Long's two halves. */
export type Int64 = number | { low: number; high: number; unsigned?: boolean };

/** StringStringEntryProto. */
export interface EntryMsg {
  key?: string;
  value?: string;
}

/** OperatorSetIdProto. */
export interface OpsetMsg {
  domain?: string;
  version?: Int64;
}

/** ModelProto, less its graph (field 7, which the emitter streams after these). */
export interface ModelMsg {
  irVersion?: Int64;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: Int64;
  docString?: string;
  opsetImport?: OpsetMsg[];
  metadataProps?: EntryMsg[];
}

/** TensorProto, with the fields the emitter writes. */
export interface TensorMsg {
  dims?: Int64[];
  dataType?: number;
  name?: string;
  rawData?: Uint8Array;
  stringData?: Uint8Array[];
  docString?: string;
  externalData?: EntryMsg[];
  dataLocation?: number;
}

/** TensorShapeProto.Dimension. */
export interface DimMsg {
  dimValue?: Int64;
  dimParam?: string;
  denotation?: string;
}

/** TypeProto with its tensor_type. */
export interface TypeMsg {
  tensorType?: { elemType?: number; shape?: { dim?: DimMsg[] } };
  denotation?: string;
}

/** ValueInfoProto. */
export interface ValueInfoMsg {
  name?: string;
  type?: TypeMsg;
  docString?: string;
}

/** AttributeProto, with the fields the emitter writes. */
export interface AttributeMsg {
  name?: string;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorMsg;
  g?: GraphMsg;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  docString?: string;
  type?: number;
}

/** NodeProto. */
export interface NodeMsg {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  attribute?: AttributeMsg[];
  docString?: string;
  domain?: string;
}

/** GraphProto, with the fields the emitter writes. */
export interface GraphMsg {
  node?: NodeMsg[];
  name?: string;
  initializer?: TensorMsg[];
  docString?: string;
  input?: ValueInfoMsg[];
  output?: ValueInfoMsg[];
  valueInfo?: ValueInfoMsg[];
}

/** The length of `s` in protobufjs's UTF-8 (a lone surrogate takes three bytes). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if ((c & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      i++;
      n += 4;
    } else n += 3;
  }
  return n;
}
const f32 = new Float32Array(1);
const f32Bytes = new Uint8Array(f32.buffer);

/**
 * A protobuf writer into one growing buffer. A nested message is written in
 * place and its length put in front of it afterwards (moving its bytes by
 * the length's size, 1-3 bytes for the emitter's messages), so nothing is
 * encoded twice.
 */
export class ProtoWriter {
  #buf = new Uint8Array(4096);
  #pos = 0;

  /** The bytes written, as a copy of their own. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  /** An unsigned varint of a non-negative safe integer. */
  #varint(n: number): void {
    this.#room(10);
    const b = this.#buf;
    while (n >= 0x80) {
      b[this.#pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    b[this.#pos++] = n;
  }

  /** A varint of the 64 bits hi:lo (two's complement for a negative value). */
  #varint64(lo: number, hi: number): void {
    lo >>>= 0;
    hi >>>= 0;
    this.#room(10);
    const b = this.#buf;
    while (hi) {
      b[this.#pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo >= 0x80) {
      b[this.#pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    b[this.#pos++] = lo;
  }

  #tag(field: number, wire: number): void {
    this.#varint(field * 8 + wire);
  }

  /** An int64 value as protobufjs's writer.int64 writes it. */
  #int64Value(v: Int64): void {
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) {
        throw new RangeError(`int64 field: ${v} is not a safe integer`);
      }
      if (v >= 0) this.#varint(v);
      else {
        // Two's complement of |v| over 64 bits: hi:lo = 2^64 - |v|.
        const m = -v;
        let lo = m >>> 0, hi = Math.floor(m / 4294967296) >>> 0;
        lo = (~lo + 1) >>> 0;
        hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
        this.#varint64(lo, hi);
      }
    } else this.#varint64(v.low, v.high);
  }

  /** An int32 value: negative ones sign-extended to ten bytes, as protobufjs writes them. */
  #int32Value(v: number): void {
    if (v >= 0) this.#varint(v);
    else this.#varint64(v | 0, -1);
  }

  int64(field: number, v: Int64 | undefined): void {
    if (v == null) return;
    this.#tag(field, 0);
    this.#int64Value(v);
  }

  int32(field: number, v: number | undefined): void {
    if (v == null) return;
    this.#tag(field, 0);
    this.#int32Value(v);
  }

  float(field: number, v: number | undefined): void {
    if (v == null) return;
    this.#tag(field, 5);
    this.#room(4);
    f32[0] = v;
    this.#buf.set(f32Bytes, this.#pos);
    this.#pos += 4;
  }

  bytes(field: number, v: Uint8Array | undefined): void {
    if (v == null) return;
    this.#tag(field, 2);
    this.#varint(v.length);
    this.#room(v.length);
    this.#buf.set(v, this.#pos);
    this.#pos += v.length;
  }

  string(field: number, v: string | undefined): void {
    if (v == null) return;
    this.#tag(field, 2);
    const n = utf8Length(v);
    this.#varint(n);
    this.#room(n);
    const b = this.#buf;
    if (n === v.length) {
      for (let i = 0; i < n; i++) b[this.#pos++] = v.charCodeAt(i);
      return;
    }
    // protobufjs's utf8.write: a lone surrogate is written as its own three bytes (where
    // TextEncoder would write U+FFFD's).
    for (let i = 0; i < v.length; i++) {
      let c = v.charCodeAt(i);
      if (c < 0x80) b[this.#pos++] = c;
      else if (c < 0x800) {
        b[this.#pos++] = (c >> 6) | 0xc0;
        b[this.#pos++] = (c & 63) | 0x80;
      } else if ((c & 0xfc00) === 0xd800 && (v.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c & 0x3ff) << 10) + (v.charCodeAt(++i) & 0x3ff);
        b[this.#pos++] = (c >> 18) | 0xf0;
        b[this.#pos++] = ((c >> 12) & 63) | 0x80;
        b[this.#pos++] = ((c >> 6) & 63) | 0x80;
        b[this.#pos++] = (c & 63) | 0x80;
      } else {
        b[this.#pos++] = (c >> 12) | 0xe0;
        b[this.#pos++] = ((c >> 6) & 63) | 0x80;
        b[this.#pos++] = (c & 63) | 0x80;
      }
    }
  }

  strings(field: number, vs: string[] | undefined): void {
    if (vs) { for (const v of vs) this.string(field, v); }
  }

  /** A length-delimited field whose content `write` writes. */
  message(field: number, write: () => void): void {
    this.#tag(field, 2);
    const start = this.#pos;
    write();
    const len = this.#pos - start;
    let size = 1;
    for (let n = len; n >= 0x80; n = Math.floor(n / 0x80)) size++;
    this.#room(size);
    this.#buf.copyWithin(start + size, start, this.#pos);
    this.#pos = start;
    this.#varint(len);
    this.#pos = start + size + len;
  }

  /** A message field for each element of `vs` that is set. */
  messages<T>(field: number, vs: T[] | undefined, write: (v: T) => void): void {
    if (!vs) return;
    for (const v of vs) this.message(field, () => write(v));
  }

  packedInt64(field: number, vs: Int64[] | undefined): void {
    if (!vs?.length) return;
    this.message(field, () => {
      for (const v of vs) this.#int64Value(v);
    });
  }

  packedFloat(field: number, vs: number[] | undefined): void {
    if (!vs?.length) return;
    this.message(field, () => {
      this.#room(4 * vs.length);
      for (const v of vs) {
        f32[0] = v;
        this.#buf.set(f32Bytes, this.#pos);
        this.#pos += 4;
      }
    });
  }
}

// Each writer below follows the `encode` that protobufjs generated for the
// message in onnx-proto's dist/onnx.js, field by field.

function entry(w: ProtoWriter, m: EntryMsg): void {
  w.string(1, m.key);
  w.string(2, m.value);
}

function opset(w: ProtoWriter, m: OpsetMsg): void {
  w.string(1, m.domain);
  w.int64(2, m.version);
}

/** ModelProto's fields but the graph, in protobufjs's order. */
export function writeModel(w: ProtoWriter, m: ModelMsg): void {
  w.int64(1, m.irVersion);
  w.string(2, m.producerName);
  w.string(3, m.producerVersion);
  w.string(4, m.domain);
  w.int64(5, m.modelVersion);
  w.string(6, m.docString);
  w.messages(8, m.opsetImport, (v) => opset(w, v));
  w.messages(14, m.metadataProps, (v) => entry(w, v));
}

export function writeTensor(w: ProtoWriter, m: TensorMsg): void {
  w.packedInt64(1, m.dims);
  w.int32(2, m.dataType);
  if (m.stringData?.length) { for (const s of m.stringData) w.bytes(6, s); }
  w.string(8, m.name);
  w.bytes(9, m.rawData);
  w.string(12, m.docString);
  w.messages(13, m.externalData, (v) => entry(w, v));
  w.int32(14, m.dataLocation);
}

function dim(w: ProtoWriter, m: DimMsg): void {
  w.int64(1, m.dimValue);
  w.string(2, m.dimParam);
  w.string(3, m.denotation);
}

function type(w: ProtoWriter, m: TypeMsg): void {
  const t = m.tensorType;
  if (t != null) {
    w.message(1, () => {
      w.int32(1, t.elemType);
      const shape = t.shape;
      if (shape != null) w.message(2, () => w.messages(1, shape.dim, (d) => dim(w, d)));
    });
  }
  w.string(6, m.denotation);
}

export function writeValueInfo(w: ProtoWriter, m: ValueInfoMsg): void {
  w.string(1, m.name);
  const t = m.type;
  if (t != null) w.message(2, () => type(w, t));
  w.string(3, m.docString);
}

function attribute(w: ProtoWriter, m: AttributeMsg): void {
  w.string(1, m.name);
  w.float(2, m.f);
  w.int64(3, m.i);
  w.bytes(4, m.s);
  const t = m.t, g = m.g;
  if (t != null) w.message(5, () => writeTensor(w, t));
  if (g != null) w.message(6, () => writeGraph(w, g));
  w.packedFloat(7, m.floats);
  w.packedInt64(8, m.ints);
  if (m.strings?.length) { for (const s of m.strings) w.bytes(9, s); }
  w.string(13, m.docString);
  w.int32(20, m.type);
}

export function writeNode(w: ProtoWriter, m: NodeMsg): void {
  w.strings(1, m.input);
  w.strings(2, m.output);
  w.string(3, m.name);
  w.string(4, m.opType);
  w.messages(5, m.attribute, (a) => attribute(w, a));
  w.string(6, m.docString);
  w.string(7, m.domain);
}

export function writeGraph(w: ProtoWriter, m: GraphMsg): void {
  w.messages(1, m.node, (n) => writeNode(w, n));
  w.string(2, m.name);
  w.messages(5, m.initializer, (t) => writeTensor(w, t));
  w.string(10, m.docString);
  w.messages(11, m.input, (v) => writeValueInfo(w, v));
  w.messages(12, m.output, (v) => writeValueInfo(w, v));
  w.messages(13, m.valueInfo, (v) => writeValueInfo(w, v));
}

/** The bytes of one message written by `write`. */
export function encode<T>(write: (w: ProtoWriter, m: T) => void, m: T): Uint8Array {
  const w = new ProtoWriter();
  write(w, m);
  return w.finish();
}
