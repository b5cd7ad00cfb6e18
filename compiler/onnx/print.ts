/**
 * ONNX files as text, in the style of the IR listing (`compiler/ir/print.ts`)
 * so that the graph the compiler built and the file it wrote can be read,
 * and diffed, side by side. The header adds what only the file has: the IR
 * version, the operator sets, the producer; a node's comment is its
 * doc_string (where dlm writes the source spans).
 *
 * The printer reads the protobuf itself instead of going through
 * `decodeModel`: it must not need external data files, must not decode
 * megabytes of weights it will not show, and must print what is in the
 * file (attribute types as written, initializers that are also listed as
 * inputs, element types dlm does not support) rather than what the IR
 * makes of it.
 */
import { diag, DlmError, fail } from "../diagnostics.ts";
import type { AttrValue, Dim, Graph, Node, TensorType } from "../ir/graph.ts";
import { emptyGraph } from "../ir/graph.ts";
import { MAX_PRINTED_ELEMENTS, nodeComment, printGraphWith } from "../ir/print.ts";
import { allocData, type DType, dtypeFromOnnx, numel, type Tensor } from "../ir/tensor.ts";
import type { AttrType } from "../ops/op_def.ts";
import { longToNumber, onnx } from "./proto.ts";
import { fromTensorProto } from "./tensor_proto.ts";

/** ONNX AttributeProto.AttributeType codes and the attribute types the printer knows them as. */
const ATTR_TYPES: Record<number, AttrType> = {
  1: "float",
  2: "int",
  3: "string",
  4: "tensor",
  5: "graph",
  6: "floats",
  7: "ints",
  8: "strings",
};
const OTHER_ATTR_TYPES: Record<number, string> = {
  9: "tensors",
  10: "graphs",
  11: "sparse_tensor",
  12: "sparse_tensors",
  13: "type_proto",
  14: "type_protos",
};

/** What the printer keeps of each decoded node beyond the IR node. */
interface NodeExtra {
  doc: string;
  types: Record<string, AttrType | undefined>;
}

/**
 * A serialized ONNX ModelProto as text: header lines for the IR version,
 * the operator sets, the producer and any doc string or metadata, then the
 * graph as `printGraph` prints IR graphs, with each node's doc_string as its
 * comment. Deterministic. Malformed bytes raise DLM0405.
 *
 * @example
 * ```ts
 * console.log(printOnnx(Deno.readFileSync("model.onnx")));
 * // onnx ir_version 8
 * // opset_import ai.onnx 17
 * // producer dlm 0.1.0
 * // graph LeNet5  # 12 nodes, 10 initializers (61706 elements)
 * // ...
 * ```
 */
export function printOnnx(bytes: Uint8Array): string {
  let model: any;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    fail(...diag("DLM0405", "ONNX model", (e as Error).message));
  }
  if (!model.graph) fail(...diag("DLM0405", "ONNX model", "it holds no graph"));

  const header = [`onnx ir_version ${longToNumber(model.irVersion)}`];
  for (const o of model.opsetImport ?? []) {
    header.push(`opset_import ${o.domain || "ai.onnx"} ${longToNumber(o.version)}`);
  }
  if (model.producerName || model.producerVersion) {
    header.push(
      `producer ${[model.producerName, model.producerVersion].filter(Boolean).join(" ")}`,
    );
  }
  if (model.domain) header.push(`domain ${model.domain}`);
  if (longToNumber(model.modelVersion)) {
    header.push(`model_version ${longToNumber(model.modelVersion)}`);
  }
  if (model.docString) header.push(`doc_string ${JSON.stringify(model.docString)}`);
  for (const p of model.metadataProps ?? []) {
    header.push(`metadata ${JSON.stringify(p.key)} = ${JSON.stringify(p.value)}`);
  }
  if (model.graph.docString) {
    header.push(`graph doc_string ${JSON.stringify(model.graph.docString)}`);
  }

  const reader = new GraphReader();
  let graph: Graph;
  try {
    graph = reader.graph(model.graph);
  } catch (e) {
    if (e instanceof DlmError) throw e;
    fail(...diag("DLM0405", "ONNX model", (e as Error).message));
  }
  return printGraphWith(graph, {
    header,
    decorate: (n) => {
      const x = reader.extra.get(n);
      return { attrType: (name) => x?.types[name], comment: nodeComment(n, x?.doc || undefined) };
    },
    valueComment: (name) => reader.valueDocs.get(name) || undefined,
    initializerNote: (name) => reader.initNotes.get(name),
  });
}

/** Turns GraphProtos into IR graphs good enough to print (large tensors keep no data). */
class GraphReader {
  readonly extra = new Map<Node, NodeExtra>();
  readonly valueDocs = new Map<string, string>();
  readonly initNotes = new Map<string, string>();

  graph(g: any): Graph {
    const graph = emptyGraph(g.name ?? "");
    const inputs = new Set<string>((g.input ?? []).map((v: any) => v.name));
    for (const p of g.initializer ?? []) {
      const t = this.tensor(p);
      graph.initializers.set(p.name ?? "", t);
      const notes: string[] = [];
      if (inputs.has(p.name)) notes.push("also a graph input");
      if (p.dataLocation === 1 || p.externalData?.length) {
        const kv = new Map<string, string>(
          (p.externalData ?? []).map((e: any) => [e.key, e.value]),
        );
        notes.push(
          `external data in ${JSON.stringify(kv.get("location") ?? "")} at offset ${
            kv.get("offset") ?? 0
          }`,
        );
      }
      if (p.docString) notes.push(JSON.stringify(p.docString));
      if (notes.length) this.initNotes.set(p.name ?? "", notes.join(", "));
    }
    for (const p of g.sparseInitializer ?? []) {
      // Shown by name and dense shape only: dlm never writes them.
      const name = p.values?.name ?? "";
      graph.initializers.set(name, {
        ...this.tensorShell(p.values ?? {}, p.dims),
        data: allocData("f32", 0),
      });
      this.initNotes.set(name, "sparse");
    }
    for (const vi of g.valueInfo ?? []) graph.types.set(vi.name, this.type(vi.type));
    for (const vi of g.input ?? []) {
      const type = this.type(vi.type);
      graph.inputs.push({ name: vi.name, type });
      graph.types.set(vi.name, type);
      if (vi.docString) this.valueDocs.set(vi.name, vi.docString);
    }
    for (const vi of g.output ?? []) {
      const type = this.type(vi.type);
      graph.outputs.push({ name: vi.name, type });
      graph.types.set(vi.name, type);
      if (vi.docString) this.valueDocs.set(vi.name, vi.docString);
    }
    for (const n of g.node ?? []) graph.nodes.push(this.node(n));
    return graph;
  }

  node(n: any): Node {
    const node: Node = {
      name: n.name ?? "",
      op: n.opType ?? "",
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attrs: {},
    };
    if (n.domain && n.domain !== "ai.onnx") node.domain = n.domain;
    const types: Record<string, AttrType | undefined> = {};
    for (const a of n.attribute ?? []) {
      const [value, type] = this.attr(a);
      node.attrs[a.name] = value;
      types[a.name] = type;
    }
    this.extra.set(node, { doc: n.docString ?? "", types });
    return node;
  }

  attr(a: any): [AttrValue, AttrType | undefined] {
    const type = ATTR_TYPES[a.type ?? 0];
    switch (type) {
      case "float":
        return [a.f ?? 0, type];
      case "int":
        return [longToNumber(a.i), type];
      case "string":
        return [new TextDecoder().decode(a.s ?? new Uint8Array()), type];
      case "tensor":
        return [this.tensor(a.t ?? {}), type];
      case "graph":
        return [this.graph(a.g ?? {}), type];
      case "floats":
        return [[...(a.floats ?? [])], type];
      case "ints":
        return [(a.ints ?? []).map(longToNumber), type];
      case "strings":
        return [(a.strings ?? []).map((s: Uint8Array) => new TextDecoder().decode(s)), type];
    }
    // Kinds the IR has no value for: say what it is rather than fail.
    return [`<${OTHER_ATTR_TYPES[a.type] ?? `attribute type ${a.type ?? 0}`}>`, "string"];
  }

  /** A tensor whose data is decoded only when it is small enough to be printed. */
  tensor(p: any): Tensor {
    const shell = this.tensorShell(p, p.dims);
    const external = p.dataLocation === 1 || p.externalData?.length;
    if (numel(shell.shape) > MAX_PRINTED_ELEMENTS || external || !dtypeFromOnnx(p.dataType ?? 0)) {
      return { ...shell, data: allocData("f32", 0) };
    }
    return fromTensorProto(p);
  }

  tensorShell(p: any, dims: unknown[] | undefined): { dtype: DType; shape: number[] } {
    return { dtype: this.dtype(p.dataType ?? 0), shape: (dims ?? []).map(longToNumber) };
  }

  /** The dlm name of an element type; types dlm lacks print as `onnx_type_<code>`. */
  dtype(code: number): DType {
    return dtypeFromOnnx(code) ?? (`onnx_type_${code}` as DType);
  }

  type(tp: any): TensorType {
    const tt = tp?.tensorType ?? tp?.sparseTensorType ?? tp?.optionalType?.elemType?.tensorType;
    if (!tt) {
      const kind = tp?.sequenceType
        ? "sequence"
        : tp?.mapType
        ? "map"
        : tp?.optionalType
        ? "optional"
        : "untyped";
      return { dtype: kind as DType, shape: [] };
    }
    const dtype = this.dtype(tt.elemType ?? 0);
    // No shape at all (unknown rank) prints as `f32[...]`.
    if (!tt.shape) return { dtype, shape: ["..."] };
    const shape: Dim[] = (tt.shape.dim ?? []).map((d: any) => {
      if (Object.hasOwn(d, "dimValue")) return longToNumber(d.dimValue);
      return d.dimParam || "?";
    });
    return { dtype, shape };
  }
}
