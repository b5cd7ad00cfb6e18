/**
 * ONNX model bytes to the IR: the inverse of the emitter, used by the
 * reference interpreter (`dlm diff`, the conformance suite) to run any ONNX
 * file, including ones dlm did not write.
 */
import type {
  AttrValue,
  Dim,
  Graph,
  Node,
  PackLayout,
  TensorType,
  ValueInfo,
} from "../ir/graph.ts";
import { emptyGraph, memberSize, rowLength } from "../ir/graph.ts";
import { dtypeFromOnnx, type Tensor } from "../ir/tensor.ts";
import { diag, DlmError, fail } from "../diagnostics.ts";
import { longToNumber, onnx } from "./proto.ts";
import { fromTensorProto } from "./tensor_proto.ts";
import { PACKS_METADATA } from "./emit.ts";

/** What `decodeModel` returns. */
export interface DecodedModel {
  graph: Graph;
  /** Version of the default ("" / "ai.onnx") operator set. */
  opset: number;
  /** Version of every imported operator set, by domain ("" for the default one). */
  opsets: Record<string, number>;
}

export interface DecodeOptions {
  /** Folder that external tensor data is resolved against. */
  baseDir?: string;
  /** File name used in error messages. */
  file?: string;
}

/** ONNX AttributeProto.AttributeType codes. */
const ATTR = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

const ATTR_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(ATTR).map(([k, v]) => [v, k]),
);

/**
 * Decode a serialized ONNX ModelProto into an IR graph.
 *
 * Graph inputs that also have an initializer (old exporters list weights as
 * inputs) are dropped from `graph.inputs`: they are constants, not feeds.
 * Unknown dimensions get fresh symbolic names starting with "?". Subgraph
 * inputs/outputs declared without a type (legal in loop bodies) get the
 * placeholder type f32["?k"] and no entry in `types`.
 * Malformed bytes raise DLM0405.
 *
 * @example
 * const { graph, opset } = decodeModel(Deno.readFileSync("model.onnx"));
 */
export function decodeModel(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedModel {
  const what = opts.file ? ` '${opts.file}'` : "";
  let model: any;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    fail(...diag("DLM0405", `ONNX model${what}`, protoReason(e)));
  }
  if (!model.graph) fail(...diag("DLM0405", `ONNX model${what}`, "it holds no graph"));
  const opsets: Record<string, number> = {};
  for (const o of model.opsetImport ?? []) {
    opsets[normalizeDomain(o.domain ?? "")] = longToNumber(o.version);
  }
  // The ONNX spec requires opset_import; a file without it is truncated or not a model
  // (protobuf decodes a prefix of a valid file without complaint).
  if (!model.opsetImport?.length) {
    fail(
      ...diag(
        "DLM0405",
        `ONNX model${what}`,
        "it declares no operator set (opset_import): it is truncated or not an ONNX model",
      ),
    );
  }
  const opset = opsets[""] ?? 1;
  try {
    const graph = new GraphDecoder(opts.baseDir).graph(model.graph, false);
    const packs = (model.metadataProps ?? []).find((p: any) => p.key === PACKS_METADATA);
    if (packs) graph.packs = readPacks(packs.value, graph);
    return { graph, opset, opsets };
  } catch (e) {
    // What the graph's decoder finds wrong is said of this file.
    if (e instanceof DlmError) throw opts.file ? inFile(e, opts.file) : e;
    fail(...diag("DLM0405", `ONNX model${what}`, (e as Error).message));
  }
}

/**
 * `e` with a note naming `file` on each diagnostic that neither points into a source nor names
 * the file: a message about a node or a tensor of an ONNX file says which file it is.
 */
function inFile(e: DlmError, file: string): DlmError {
  for (const d of e.diagnostics) {
    if (d.span || d.message.includes(file)) continue;
    d.notes = [...(d.notes ?? []), `in the ONNX file '${file}'`];
  }
  return e;
}

/**
 * A member's `taps`, when it has them: ascending offsets within a row of its convolution weight
 * (rank 3 or more), fewer than the row holds (compiler/train/pack.ts).
 */
function tapsFit(m: any): boolean {
  if (m.taps === undefined) return true;
  if (!isNums(m.taps) || m.shape.length < 3) return false;
  const k = rowLength(m.shape);
  return m.taps.length > 0 && m.taps.length < k &&
    m.taps.every((t: number, i: number) => t < k && (i === 0 || t > m.taps[i - 1]));
}

const isNums = (x: unknown): x is number[] =>
  Array.isArray(x) && x.every((d) => Number.isInteger(d) && d >= 0);

/** The `dlm.packs` metadata entry, checked against the graph it describes. */
function readPacks(json: string, g: Graph): PackLayout[] {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new Error(`its '${PACKS_METADATA}' metadata is not JSON`);
  }
  const ok = Array.isArray(v) &&
    v.every((p) =>
      typeof p?.name === "string" && typeof p.dtype === "string" && Number.isInteger(p.size) &&
      g.inputs.some((i) => i.name === p.name) && Array.isArray(p.members) &&
      p.members.every((m: any) =>
        typeof m?.param === "string" && Number.isInteger(m.offset) && m.offset >= 0 &&
        isNums(m.shape) && tapsFit(m) && m.offset + memberSize(m) <= p.size
      )
    );
  if (!ok) {
    throw new Error(
      `its '${PACKS_METADATA}' metadata does not describe packed inputs of the graph`,
    );
  }
  return v as PackLayout[];
}

/**
 * Decode a serialized TensorProto (the `.pb` files of the ONNX backend tests).
 * Malformed bytes raise DLM0405.
 */
export function decodeTensorFile(bytes: Uint8Array, opts: DecodeOptions = {}): Tensor {
  const what = opts.file ? ` '${opts.file}'` : "";
  let proto: any;
  try {
    proto = onnx.TensorProto.decode(bytes);
  } catch (e) {
    fail(...diag("DLM0405", `ONNX TensorProto${what}`, protoReason(e)));
  }
  try {
    return fromTensorProto(proto, opts.baseDir);
  } catch (e) {
    if (e instanceof DlmError) throw e;
    fail(...diag("DLM0405", `ONNX TensorProto${what}`, protoReason(e)));
  }
}

function protoReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  // protobufjs reports truncation as "index out of range: 12 + 10 > 15".
  return /index out of range/.test(msg) ? `truncated data (${msg})` : msg;
}

function normalizeDomain(d: string): string {
  return d === "ai.onnx" ? "" : d;
}

/** Decodes one graph and its subgraphs; shares the counter of unknown-dim names. */
class GraphDecoder {
  #unknown = 0;
  constructor(readonly baseDir?: string) {}

  graph(g: any, subgraph: boolean): Graph {
    const graph = emptyGraph(g.name || (subgraph ? "subgraph" : "main"));
    for (const init of g.initializer ?? []) {
      if (!init.name) fail(...diag("DLM0405", "ONNX model", "an initializer has no name"));
      const t = fromTensorProto(init, this.baseDir);
      graph.initializers.set(init.name, t);
      graph.types.set(init.name, { dtype: t.dtype, shape: [...t.shape] });
    }
    if ((g.sparseInitializer ?? []).length > 0) {
      fail(...diag("DLM0414", `Graph '${graph.name}'`, "sparse initializers"));
    }
    for (const vi of g.valueInfo ?? []) {
      const t = this.type(vi, true);
      if (t && !graph.types.has(vi.name)) graph.types.set(vi.name, t);
    }
    for (const vi of g.input ?? []) {
      if (graph.initializers.has(vi.name)) continue;
      graph.inputs.push(this.valueInfo(vi, graph, subgraph));
    }
    for (const vi of g.output ?? []) graph.outputs.push(this.valueInfo(vi, graph, subgraph));
    (g.node ?? []).forEach((n: any, i: number) => graph.nodes.push(this.node(n, i)));
    return graph;
  }

  valueInfo(vi: any, graph: Graph, subgraph: boolean): ValueInfo {
    if (!vi.name) {
      fail(...diag("DLM0405", "ONNX model", `a value of graph '${graph.name}' has no name`));
    }
    if (subgraph && !vi.type) {
      // ONNX lets subgraph (loop body) inputs and outputs omit their type; the
      // IR needs one, so they get a placeholder that `types` does not repeat.
      return { name: vi.name, type: { dtype: "f32", shape: [this.fresh()] } };
    }
    const t = this.type(vi, false)!;
    graph.types.set(vi.name, t);
    return { name: vi.name, type: t };
  }

  /**
   * The TensorType of a ValueInfoProto. Non-tensor types (sequences, maps)
   * fail for graph inputs/outputs and are skipped (undefined) for value_info
   * (`lenient`). An optional tensor is read as its tensor type.
   */
  type(vi: any, lenient: boolean): TensorType | undefined {
    const tp = vi.type;
    const tt = tp?.tensorType ?? tp?.optionalType?.elemType?.tensorType;
    if (!tt) {
      if (lenient) return undefined;
      const kind = tp?.sequenceType
        ? "a sequence type"
        : tp?.mapType
        ? "a map type"
        : tp?.sparseTensorType
        ? "a sparse tensor type"
        : tp?.optionalType
        ? "an optional non-tensor type"
        : "no type";
      fail(...diag("DLM0414", `Value '${vi.name}'`, kind));
    }
    const dtype = dtypeFromOnnx(tt.elemType ?? 0);
    if (!dtype) {
      if (lenient) return undefined;
      fail(...diag("DLM0414", `Value '${vi.name}'`, `element type ${tt.elemType ?? 0}`));
    }
    if (!tt.shape) return { dtype, shape: [] };
    const shape: Dim[] = (tt.shape.dim ?? []).map((d: any) => {
      if (Object.hasOwn(d, "dimValue")) return longToNumber(d.dimValue);
      if (d.dimParam) return d.dimParam as string;
      return this.fresh();
    });
    return { dtype, shape };
  }

  fresh(): string {
    return `?${++this.#unknown}`;
  }

  node(n: any, index: number): Node {
    const op: string = n.opType ?? "";
    if (!op) fail(...diag("DLM0405", "ONNX model", `node ${index} has no operator type`));
    const node: Node = {
      name: n.name || `${op}_${index}`,
      op,
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attrs: {},
    };
    const domain = normalizeDomain(n.domain ?? "");
    if (domain) node.domain = domain;
    for (const a of n.attribute ?? []) node.attrs[a.name] = this.attr(a, node);
    return node;
  }

  attr(a: any, node: Node): AttrValue {
    const type = a.type ?? inferAttrType(a);
    switch (type) {
      case ATTR.FLOAT:
        return a.f ?? 0;
      case ATTR.INT:
        return longToNumber(a.i);
      case ATTR.STRING:
        return new TextDecoder().decode(a.s ?? new Uint8Array());
      case ATTR.TENSOR:
        return fromTensorProto(a.t, this.baseDir);
      case ATTR.GRAPH:
        return this.graph(a.g, true);
      case ATTR.FLOATS:
        return [...(a.floats ?? [])];
      case ATTR.INTS:
        return (a.ints ?? []).map(longToNumber);
      case ATTR.STRINGS: {
        const dec = new TextDecoder();
        return (a.strings ?? []).map((s: Uint8Array) => dec.decode(s));
      }
      default:
        fail(
          ...diag(
            "DLM0414",
            `Attribute '${a.name}' of node '${node.name}' (${node.op})`,
            `type ${ATTR_NAMES[type] ?? type}`,
          ),
        );
    }
  }
}

/** IR version 1 files may omit AttributeProto.type: guess it from the field set. */
function inferAttrType(a: any): number {
  if (Object.hasOwn(a, "f")) return ATTR.FLOAT;
  if (Object.hasOwn(a, "i")) return ATTR.INT;
  if (Object.hasOwn(a, "s")) return ATTR.STRING;
  if (a.t) return ATTR.TENSOR;
  if (a.g) return ATTR.GRAPH;
  if (a.floats?.length) return ATTR.FLOATS;
  if (a.ints?.length) return ATTR.INTS;
  if (a.strings?.length) return ATTR.STRINGS;
  return 0;
}
