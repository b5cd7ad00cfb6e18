/**
 * The ONNX emitter: an IR Graph to ModelProto bytes.
 *
 * - Attribute types come from the op table (an attribute the op table does
 *   not describe is a compiler bug, reported as an "internal:" Error).
 * - Each node goes through its op's `lower(node, opset)` first.
 * - Node doc strings carry the source spans (`model.dlm:12:7; ...`) so Netron
 *   shows where a node came from; value_info carries every known
 *   intermediate type so viewers show shapes.
 * - Output is deterministic: it depends on the graph's own order only
 *   (attributes are sorted by name as onnx.helper.make_node does).
 * - Initializers too large for one protobuf (2 GB) go to an external data
 *   blob, each tensor at a 4096-aligned offset (page-aligned for mmap).
 * - The model comes out as byte ranges (emitModelParts) that a writer streams
 *   to a file; a weight not drawn yet is drawn as its range is read, a chunk
 *   at a time, and never held whole (writing files is the runtime's job:
 *   runtime/formats/onnx_file.ts).
 */
import { diag, fail } from "../diagnostics.ts";
import type { AttrValue, Dim, Graph, Node, Span, TensorType } from "../ir/graph.ts";
import { formatSpan, isGraph } from "../ir/graph.ts";
import { DTYPES, numel, type Tensor } from "../ir/tensor.ts";
import { type AttrType, getOp, SUPPORTED_OPSETS } from "../ops/mod.ts";
import { DLM_VERSION } from "../version.ts";
import { tensorBytes, toTensorProto } from "./tensor_proto.ts";
import {
  type AttributeMsg,
  type DimMsg,
  encode,
  type GraphMsg,
  type Int64,
  type ModelMsg,
  type NodeMsg,
  type TensorMsg,
  type ValueInfoMsg,
  writeGraph,
  writeModel,
  writeTensor,
} from "./wire.ts";
import { lazyChunks } from "../ir/init.ts";

/**
 * The ONNX IR version that goes with each opset: the one of the ONNX release
 * that introduced the opset (1.12: opset 17, IR 8; 1.13: 18, IR 8;
 * 1.14: 19, IR 9; 1.15: 20, IR 9; 1.16: 21, IR 10). onnxruntime 1.30 loads all.
 */
export const IR_VERSION_FOR_OPSET: Readonly<Record<number, number>> = {
  17: 8,
  18: 8,
  19: 9,
  20: 9,
  21: 10,
};

/** Default external-data threshold: protobuf's 2 GiB limit less 64 MiB for the rest of the model. */
export const DEFAULT_EXTERNAL_THRESHOLD = 2 ** 31 - 2 ** 26;
/** Tensors smaller than this stay inline even when external data is used. */
export const EXTERNAL_MIN_BYTES = 1024;
/** Alignment of each tensor in the external data blob. */
export const EXTERNAL_ALIGN = 4096;

/** The ModelProto metadata entry that records a training step's packed parameters (Graph.packs). */
export const PACKS_METADATA = "dlm.packs";

export interface EmitOptions {
  /** Default-domain opset, 17..21 (default 17). */
  opset?: number;
  /** Model doc string. */
  docString?: string;
  /**
   * Put large initializers in a separate blob named `location` when the
   * initializers total more than `threshold` bytes (default
   * DEFAULT_EXTERNAL_THRESHOLD; 0 = always).
   */
  externalData?: { location: string; threshold?: number };
  /**
   * The message encoder (default: wire.ts's). wire_test.ts passes one built
   * on protobufjs, the oracle the bytes must equal.
   */
  encoder?: Encoder;
}

/** Bytes of the three messages the emitter encodes whole (see wire.ts). */
export interface Encoder {
  model(m: ModelMsg): Uint8Array;
  graph(m: GraphMsg): Uint8Array;
  tensor(m: TensorMsg): Uint8Array;
}

const WIRE: Encoder = {
  model: (m) => encode(writeModel, m),
  graph: (m) => encode(writeGraph, m),
  tensor: (m) => encode(writeTensor, m),
};

/**
 * A byte range of an emitted model: bytes in hand, or the raw data of a
 * weight that is drawn (ir/init.ts) as the range is read. `chunks()` yields
 * the range's bytes in order; each chunk is valid until the next is read.
 */
export type ModelPart = Uint8Array | DrawnPart;

/** The raw data of a lazily initialised weight: its length, and its bytes on demand. */
export interface DrawnPart {
  readonly length: number;
  chunks(): Iterable<Uint8Array>;
}

/** The bytes of `parts` in order, for a writer (a drawn part's chunks reuse one buffer). */
export function* chunksOf(parts: readonly ModelPart[]): Generator<Uint8Array> {
  for (const p of parts) {
    if (p instanceof Uint8Array) yield p;
    else yield* p.chunks();
  }
}

export interface EmittedModel {
  /** Serialized ModelProto. */
  model: Uint8Array;
  /** External tensor data, when any initializer was moved out. */
  data?: Uint8Array;
}

// ONNX AttributeProto.AttributeType codes.
const ATTR_CODE: Record<AttrType, number> = {
  float: 1,
  int: 2,
  string: 3,
  tensor: 4,
  graph: 5,
  floats: 6,
  ints: 7,
  strings: 8,
};

/**
 * Serialize a graph as an ONNX model.
 *
 * @example
 * ```ts
 * const { model } = emitModel(graph, { opset: 17 });
 * Deno.writeFileSync("model.onnx", model);
 * ```
 */
export function emitModel(graph: Graph, opts: EmitOptions = {}): EmittedModel {
  // In memory, lazy weights are drawn and kept (a caller may run the graph next).
  const { parts, data } = emitParts(graph, opts, false);
  const model = concat(parts);
  return data ? { model, data: concat(data) } : { model };
}

/**
 * The serialized ModelProto as consecutive byte ranges (their concatenation
 * is the model), and the external data's when initializers go out, so a
 * writer can stream 100 MB of weights to a file without first copying them
 * into one buffer. A weight whose values were not drawn yet is drawn as its
 * range is read and is not kept (the tensor stays lazy): on this machine the
 * first touch of 100 MB of fresh memory alone costs ~300 ms of CPU, while a
 * reused 256 KB buffer costs none.
 *
 * @example
 * ```ts
 * const { parts } = emitModelParts(graph);
 * for (const bytes of chunksOf(parts)) file.writeSync(bytes);
 * ```
 */
export function emitModelParts(
  graph: Graph,
  opts: EmitOptions = {},
): { parts: ModelPart[]; data?: ModelPart[] } {
  return emitParts(graph, opts, true);
}

function emitParts(
  graph: Graph,
  opts: EmitOptions,
  drawLazy: boolean,
): { parts: ModelPart[]; data?: ModelPart[] } {
  const opset = opts.opset ?? 17;
  const irVersion = IR_VERSION_FOR_OPSET[opset];
  if (irVersion === undefined || !SUPPORTED_OPSETS.includes(opset)) {
    fail(...diag("DLM0515", "The opset", `one of ${SUPPORTED_OPSETS.join(", ")}`, opset));
  }

  const total = initializerBytes(graph);
  const ext = opts.externalData;
  const threshold = ext?.threshold ?? DEFAULT_EXTERNAL_THRESHOLD;
  if (!ext && total > DEFAULT_EXTERNAL_THRESHOLD) {
    fail(...diag("DLM0316", total));
  }
  const blob = ext && total > threshold ? new ExternalBlob(ext.location) : undefined;

  const enc = opts.encoder ?? WIRE;
  const ctx: EmitContext = { opset, blob, domains: new Map(), drawLazy, enc };
  const graphParts = encodeGraphBytes(graph, ctx);

  const opsetImport: { domain: string; version: number }[] = [{ domain: "", version: opset }];
  for (const d of [...ctx.domains.keys()].sort()) {
    opsetImport.push({ domain: d, version: ctx.domains.get(d)! });
  }
  const msg: ModelMsg = {
    irVersion,
    opsetImport,
    producerName: "dlm",
    producerVersion: DLM_VERSION,
  };
  if (opts.docString) msg.docString = opts.docString;
  if (graph.packs?.length) {
    msg.metadataProps = [{ key: PACKS_METADATA, value: JSON.stringify(graph.packs) }];
  }
  // ModelProto without its graph, then the graph as field 7.
  const head = enc.model(msg);
  let graphLen = 0;
  for (const p of graphParts) graphLen += p.length;
  const parts = [head, tag(7), varint(graphLen), ...graphParts];
  return blob?.size ? { parts, data: blob.parts() } : { parts };
}

interface EmitContext {
  opset: number;
  blob?: ExternalBlob;
  /** Non-default domains used by emitted nodes, with their opset version. */
  domains: Map<string, number>;
  /** Lazy weights become DrawnParts (true) or are drawn and kept (false). */
  drawLazy: boolean;
  enc: Encoder;
}

/** Tensors appended at 4096-aligned offsets. */
class ExternalBlob {
  #parts: ModelPart[] = [];
  size = 0;
  constructor(readonly location: string) {}

  add(bytes: ModelPart): number {
    const offset = Math.ceil(this.size / EXTERNAL_ALIGN) * EXTERNAL_ALIGN;
    if (offset > this.size) this.#parts.push(new Uint8Array(offset - this.size));
    this.#parts.push(bytes);
    this.size = offset + bytes.length;
    return offset;
  }

  /** The blob as consecutive ranges: each tensor after the zeros that align it. */
  parts(): ModelPart[] {
    return this.#parts;
  }
}

function initializerBytes(g: Graph): number {
  let n = 0;
  for (const t of g.initializers.values()) n += numel(t.shape) * DTYPES[t.dtype].bytes;
  for (const node of g.nodes) {
    for (const v of Object.values(node.attrs)) if (isGraph(v)) n += initializerBytes(v);
  }
  return n;
}

/**
 * GraphProto bytes. protobufjs encodes everything but the initializers;
 * those are appended as `initializer` fields (5) whose raw_data is written
 * straight from the tensors, so a 100 MB model is copied once, not three
 * times. Protobuf readers take repeated fields in the order they appear,
 * so the initializers keep the graph's order.
 */
function encodeGraphBytes(g: Graph, ctx: EmitContext): ModelPart[] {
  const head = ctx.enc.graph(encodeGraph(g, ctx, false));
  const parts: ModelPart[] = [head];
  for (const [name, t] of g.initializers) {
    const size = t.dtype === "str" ? 0 : numel(t.shape) * DTYPES[t.dtype].bytes;
    if (t.dtype === "str" || (ctx.blob && size >= EXTERNAL_MIN_BYTES)) {
      const tp = ctx.enc.tensor(tensorProto(name, t, ctx));
      parts.push(tag(5), varint(tp.length), tp);
      continue;
    }
    const meta = ctx.enc.tensor({ name, dims: t.shape, dataType: DTYPES[t.dtype].onnx });
    const raw = rawData(t, ctx);
    const rawHead = concat([tag(9), varint(raw.length)]);
    parts.push(tag(5), varint(meta.length + rawHead.length + raw.length), meta, rawHead, raw);
  }
  return parts;
}

/**
 * A tensor's raw little-endian bytes: a DrawnPart for a weight not drawn yet
 * when the emitter streams (ctx.drawLazy), else the bytes of its data.
 */
function rawData(t: Tensor, ctx: EmitContext): ModelPart {
  const drawn = ctx.drawLazy && t.dtype === "f32" ? lazyChunks(t) : undefined;
  if (!drawn) return tensorBytes(t);
  return {
    length: numel(t.shape) * 4,
    *chunks() {
      for (const c of drawn) yield tensorBytes({ dtype: "f32", shape: [c.length], data: c });
    },
  };
}

/** A length-delimited field key: (field << 3) | 2. */
function tag(field: number): Uint8Array {
  return varint((field << 3) | 2);
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return new Uint8Array(out);
}

function concat(parts: readonly ModelPart[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of chunksOf(parts)) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A GraphProto message; subgraphs carry their initializers, the main graph appends them as bytes. */
function encodeGraph(g: Graph, ctx: EmitContext, withInitializers = true): GraphMsg {
  const nodes: NodeMsg[] = [];
  for (const node of g.nodes) {
    const def = getOp(node.op, node.domain ?? "");
    if (!def) throw new Error(`internal: node '${node.name}' uses unregistered op ${opName(node)}`);
    const lowered = def.lower ? def.lower(node, ctx.opset) : [node];
    for (const n of lowered) nodes.push(encodeNode(n, node, ctx));
  }

  const declared = new Set<string>([
    ...g.inputs.map((v) => v.name),
    ...g.outputs.map((v) => v.name),
    ...g.initializers.keys(),
  ]);
  const valueInfo: ValueInfoMsg[] = [];
  for (const node of g.nodes) {
    for (const o of node.outputs) {
      const t = o ? g.types.get(o) : undefined;
      if (!t || declared.has(o)) continue;
      declared.add(o);
      valueInfo.push(valueInfoProto(o, t));
    }
  }

  const initializer: TensorMsg[] = [];
  if (withInitializers) {
    for (const [name, t] of g.initializers) initializer.push(tensorProto(name, t, ctx));
  }

  return {
    name: g.name,
    node: nodes,
    initializer,
    input: g.inputs.map((v) => valueInfoProto(v.name, v.type, g.spans?.get(v.name))),
    output: g.outputs.map((v) => valueInfoProto(v.name, v.type, g.spans?.get(v.name))),
    valueInfo,
  };
}

/** An initializer, inline (raw_data) or in the external blob. */
function tensorProto(name: string, t: Tensor, ctx: EmitContext): TensorMsg {
  const size = t.dtype === "str" ? 0 : numel(t.shape) * DTYPES[t.dtype].bytes;
  if (!ctx.blob || size < EXTERNAL_MIN_BYTES) return toTensorProto(t, name);
  const offset = ctx.blob.add(rawData(t, ctx));
  return {
    name,
    dims: t.shape,
    dataType: DTYPES[t.dtype].onnx,
    dataLocation: 1, // EXTERNAL
    externalData: [
      { key: "location", value: ctx.blob.location },
      { key: "offset", value: String(offset) },
      { key: "length", value: String(size) },
    ],
  };
}

/**
 * One emitted node. `source` is the IR node it was lowered from: its spans
 * stand in when the lowered node has none, and its op's table entry
 * describes attributes the lowered op's entry does not.
 */
function encodeNode(n: Node, source: Node, ctx: EmitContext): NodeMsg {
  const domain = n.domain ?? "";
  const def = getOp(n.op, domain);
  // A lowered node may use an op outside the IR (e.g. a newer opset's form);
  // the source op's entry then describes its attributes.
  const srcDef = getOp(source.op, source.domain ?? "");
  if (domain) {
    const v = Math.max(ctx.domains.get(domain) ?? 1, def?.since ?? 1);
    ctx.domains.set(domain, v);
  }

  const attribute: AttributeMsg[] = [];
  for (const name of Object.keys(n.attrs).sort()) {
    const value = n.attrs[name];
    if (value === undefined) continue;
    const type = def?.attrs[name]?.type ?? srcDef?.attrs[name]?.type;
    if (!type) {
      throw new Error(
        `internal: attribute '${name}' of node '${n.name}' (${
          opName(n)
        }) is not in the op registry`,
      );
    }
    attribute.push(attrProto(name, type, value, n, ctx));
  }

  const msg: NodeMsg = {
    name: n.name,
    opType: n.op,
    input: trimTrailingEmpty(n.inputs),
    output: trimTrailingEmpty(n.outputs),
    attribute,
  };
  if (domain) msg.domain = domain;
  const spans = n.spans?.length ? n.spans : source.spans;
  if (spans?.length) msg.docString = spans.map(formatSpan).join("; ");
  return msg;
}

function attrProto(
  name: string,
  type: AttrType,
  v: AttrValue,
  n: Node,
  ctx: EmitContext,
): AttributeMsg {
  const wrong = (): never => {
    throw new Error(
      `internal: attribute '${name}' of node '${n.name}' (${opName(n)}) must be ${type}, found ${
        describe(v)
      }`,
    );
  };
  const msg: AttributeMsg = { name, type: ATTR_CODE[type] };
  switch (type) {
    case "int":
      if (typeof v !== "number" || !Number.isInteger(v)) wrong();
      msg.i = int64(v as number);
      break;
    case "float":
      if (typeof v !== "number") wrong();
      msg.f = v as number;
      break;
    case "string":
      if (typeof v !== "string") wrong();
      msg.s = new TextEncoder().encode(v as string);
      break;
    case "ints":
      if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isInteger(x))) {
        wrong();
      }
      msg.ints = (v as number[]).map(int64);
      break;
    case "floats":
      if (!Array.isArray(v) || !v.every((x) => typeof x === "number")) wrong();
      msg.floats = v as number[];
      break;
    case "strings":
      if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) wrong();
      msg.strings = (v as string[]).map((s) => new TextEncoder().encode(s));
      break;
    case "tensor":
      if (!isTensor(v)) wrong();
      msg.t = toTensorProto(v as Tensor);
      break;
    case "graph":
      if (!isGraph(v)) wrong();
      msg.g = encodeGraph(v as Graph, ctx);
      break;
  }
  return msg;
}

/**
 * An int64 for protobufjs. Numbers beyond 2^53 (INT64_MAX written as a JS
 * number, e.g. Slice's "to the end") saturate to the int64 range instead of
 * wrapping around.
 */
function int64(v: number): Int64 {
  if (Number.isSafeInteger(v)) return v;
  const max = (1n << 63n) - 1n, min = -(1n << 63n);
  let b = BigInt(v);
  if (b > max) b = max;
  if (b < min) b = min;
  const u = BigInt.asUintN(64, b);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: false };
}

function valueInfoProto(name: string, t: TensorType, span?: Span): ValueInfoMsg {
  const msg: ValueInfoMsg = {
    name,
    type: {
      tensorType: {
        elemType: DTYPES[t.dtype].onnx,
        shape: { dim: t.shape.map(dimProto) },
      },
    },
  };
  if (span) msg.docString = formatSpan(span);
  return msg;
}

/** A number is dim_value, a name dim_param; "?k" names (unknown dims from the decoder) stay unknown. */
function dimProto(d: Dim): DimMsg {
  if (typeof d === "number") return { dimValue: d };
  return d.startsWith("?") ? {} : { dimParam: d };
}

function trimTrailingEmpty(names: string[]): string[] {
  let end = names.length;
  while (end > 0 && names[end - 1] === "") end--;
  return names.slice(0, end);
}

function opName(n: Node): string {
  return n.domain ? `${n.domain}::${n.op}` : n.op;
}

function isTensor(v: unknown): v is Tensor {
  return typeof v === "object" && v !== null && "dtype" in v && "shape" in v && "data" in v;
}

function describe(v: unknown): string {
  if (isTensor(v)) return `a ${v.dtype} tensor`;
  if (isGraph(v)) return `graph '${v.name}'`;
  return JSON.stringify(v) ?? String(v);
}
