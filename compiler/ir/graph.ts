/**
 * The typed graph IR. Values are named (ONNX style): a node reads values by
 * name and defines new ones; `Graph.types` holds the inferred type of every
 * value. Nodes are kept in topological order. Op semantics are those of the
 * ONNX operator of the same name (domain "" unless `domain` is set), so the
 * reference interpreter runs the IR and ONNX files with the same kernels.
 */
import type { DType, Tensor } from "./tensor.ts";

/** A location in a .dlm source file, 1-based line and column. */
export interface Span {
  file: string;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
}

/** A dimension: a concrete size, or a symbolic name such as "N". */
export type Dim = number | string;

export interface TensorType {
  dtype: DType;
  shape: Dim[];
}

/** An attribute value. Its ONNX type (int/float/...) comes from the op's table entry. */
export type AttrValue =
  | number
  | number[]
  | string
  | string[]
  | Tensor
  | Graph;

/** ONNX attribute types (an op's table entry gives each attribute one). */
export type AttrType =
  | "int"
  | "float"
  | "string"
  | "ints"
  | "floats"
  | "strings"
  | "tensor"
  | "graph";

export interface Node {
  /** Unique node name; by convention the source-derived hierarchical name. */
  name: string;
  /** ONNX operator type, e.g. "Conv". */
  op: string;
  /** Operator domain; "" (default ONNX) when absent. */
  domain?: string;
  /** Input value names; "" marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  /** Where the node came from. Fused nodes keep the spans they replaced. */
  spans?: Span[];
}

/** Role of a parameter or buffer, as reported by `dlm params`. */
export type ParamRole =
  | "weight"
  | "bias"
  | "running_mean"
  | "running_var"
  | "num_batches_tracked"
  | "embedding"
  | "buffer"
  | string;

/** Metadata of one initializer that came from a layer's parameters. */
export interface ParamInfo {
  name: string;
  role: ParamRole;
  /** Trainable parameter (true) or buffer such as running statistics (false). */
  trainable: boolean;
  /** Frozen by the source (e.g. transfer learning): never updated by training. */
  frozen?: boolean;
  /** Layer kind that owns it, e.g. "conv2d". */
  layer?: string;
  span?: Span;
  /** Created by a fine-tuning method, e.g. "lora:qv" (compiler/check/peft.ts). */
  adapter?: string;
  /**
   * Starts as a copy of this parameter (`init ref from policy`, compiler/check/copies.ts): its
   * initial value is the source's, and loading weights copies the source's loaded value into it
   * when no file gives its own.
   */
  copyOf?: string;
}

/**
 * A LoRA or IA3 application that can be folded into its layer's weight:
 * value `result` equals `base` plus (LoRA) or times (IA3) the adapter's
 * contribution. After merging, `result`'s readers read `base` instead.
 */
export type MergeRecord =
  | {
    method: "lora";
    adapter: string;
    layer: string;
    weight: string;
    /** A [k*r, in, kernel...] and B [k*part, r, 1...], k the enabled parts. */
    a: string;
    b: string;
    scale: number;
    /** The output's equal parts, and which of them adapt (GPT-2's fused q, k, v). */
    parts: boolean[];
    base: string;
    result: string;
  }
  | {
    /** Output scaling (rows of the weight, and the bias) or input scaling (columns). */
    method: "ia3_out" | "ia3_in";
    adapter: string;
    layer: string;
    weight: string;
    bias?: string;
    vector: string;
    /** Output scaling only: the equal parts of the output the vector covers (the rest stay). */
    parts?: boolean[];
    base: string;
    result: string;
  }
  | {
    /**
     * Intrinsic-dimension subspace training (compiler/check/subspace.ts): `result` is
     * `weight + reshape(P z)`, computed from constants and the vector z alone.
     */
    method: "subspace";
    adapter: string;
    layer: string;
    weight: string;
    vector: string;
    base: string;
    result: string;
  };

export interface ValueInfo {
  name: string;
  type: TensorType;
}

export interface Graph {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: Node[];
  /** Constant tensors: weights, buffers and folded constants, by value name. */
  initializers: Map<string, Tensor>;
  /** Type of every value (inputs, node outputs, initializers). */
  types: Map<string, TensorType>;
  /** Parameters and buffers, in definition order. */
  params: ParamInfo[];
  /** Source span of each graph input/output declaration, by name. */
  spans?: Map<string, Span>;
  /** Fine-tuning updates that `--adapters merged` folds into weights. */
  merges?: MergeRecord[];
  /** Parameters a training step reads from flat vectors (compiler/train/pack.ts). */
  packs?: PackLayout[];
  /**
   * What built-ins need of the values of the inputs they read, beyond their types (class
   * indices in range for a loss, ids within an embedding's table). Not part of the ONNX file:
   * runtime/data/validate.ts checks data against these before a run.
   */
  needs?: InputNeed[];
  /**
   * Sizes the shape rules assumed of symbolic dims: `x[0:10]` of an `x: f32[N, 4]` is typed
   * `f32[10, 4]`, assuming N >= 10. Not part of the ONNX file: runtime/inputs.ts checks the
   * sizes a run binds against these before it runs (onnxruntime would clamp or fail unlocated).
   */
  dimBounds?: DimBound[];
}

/** Whether a value (an attribute's) is a subgraph: a Loop's, Scan's or If's body. */
export function isGraph(v: unknown): v is Graph {
  return typeof v === "object" && v !== null && !Array.isArray(v) && "nodes" in v &&
    "initializers" in v;
}

/** Nodes of a graph and of its subgraphs, at any depth. */
export function nodeCount(g: Graph): number {
  let n = 0;
  for (const x of g.nodes) {
    n++;
    for (const v of Object.values(x.attrs)) if (isGraph(v)) n += nodeCount(v);
  }
  return n;
}

/** A symbolic dim (or dim expression) that a source index assumed at least `min`. */
export interface DimBound {
  dim: Dim;
  min: number;
  /** The source index, for messages: "x[0:10]". */
  what: string;
  span?: Span;
}

/**
 * Integer values a built-in reads from a graph input as indices: `cross_entropy` reads class
 * indices in 0..C-1 (and its ignore_index), `embedding` ids in 0..num-1. A value outside is read
 * as another (ONNX's Gather counts a negative index from the end) or fails at run time, so data
 * is checked against this first.
 */
export interface InputNeed {
  input: string;
  /** One value, for messages: "class index", "id". */
  what: string;
  /** Who reads it, for messages: "cross_entropy over 10 classes", "embedding 'wte' (50257 ids)". */
  by: string;
  /** The accepted range, inclusive; absent when not known at compile time (integers only). */
  min?: number;
  max?: number;
  /** Further accepted values and why: [-100, "its ignore_index"]. */
  also?: [number, string][];
  /** The call that reads it. */
  span?: Span;
}

/** One flat vector of parameters in a training step: `name` holds each member at its offset. */
export interface PackLayout {
  name: string;
  dtype: DType;
  /** Elements in all. */
  size: number;
  members: PackMember[];
}

/**
 * A parameter in a pack, from `offset` on: all of its elements in order, or with `taps` only
 * some. Then the parameter (a convolution weight [M, C, k...]) is seen as rows [M C, K] (K the
 * product of its kernel dims) and the pack holds, row after row, the elements at the offsets
 * `taps` in each row: the kernel taps a convolution reads at the model's input size
 * (compiler/train/pack.ts, tapWindows). The others never change in a step, and the step model
 * keeps the parameter's initial value as an initializer that no node reads.
 */
export interface PackMember {
  param: string;
  offset: number;
  /** The parameter's own shape. */
  shape: number[];
  /** The row offsets the pack holds, ascending; absent: every element. */
  taps?: number[];
}

/** Elements `m` takes in its pack: all of its parameter's, or its taps in every row. */
export function memberSize(m: Pick<PackMember, "shape" | "taps">): number {
  const n = m.shape.reduce((a, d) => a * d, 1);
  return m.taps ? (n / rowLength(m.shape)) * m.taps.length : n;
}

/**
 * The parameters packed at some taps only: their initializers are not constants of the step but
 * the initial values of the taps it does not train (runners take them as defaults).
 */
export function tapWeights(packs: readonly PackLayout[] | undefined): Set<string> {
  return new Set((packs ?? []).flatMap((p) => p.members.filter((m) => m.taps).map((m) => m.param)));
}

/** K of a convolution weight [M, C, k...] seen as rows [M C, K]: its kernel's elements. */
export function rowLength(shape: readonly number[]): number {
  return shape.slice(2).reduce((a, d) => a * d, 1);
}

export function emptyGraph(name: string): Graph {
  return {
    name,
    inputs: [],
    outputs: [],
    nodes: [],
    initializers: new Map(),
    types: new Map(),
    params: [],
    spans: new Map(),
  };
}

/** A deep-enough copy: nodes and maps are new, tensors are shared (they are immutable). */
export function cloneGraph(g: Graph): Graph {
  return {
    name: g.name,
    inputs: g.inputs.map((v) => ({ name: v.name, type: cloneType(v.type) })),
    outputs: g.outputs.map((v) => ({ name: v.name, type: cloneType(v.type) })),
    nodes: g.nodes.map((n) => ({
      ...n,
      inputs: [...n.inputs],
      outputs: [...n.outputs],
      attrs: { ...n.attrs },
      spans: n.spans ? [...n.spans] : undefined,
    })),
    initializers: new Map(g.initializers),
    types: new Map([...g.types].map(([k, t]) => [k, cloneType(t)])),
    params: g.params.map((p) => ({ ...p })),
    spans: g.spans ? new Map(g.spans) : undefined,
    merges: g.merges?.map((m) => ({ ...m })),
    packs: g.packs?.map((p) => ({
      ...p,
      members: p.members.map((m) => ({
        ...m,
        shape: [...m.shape],
        ...(m.taps ? { taps: [...m.taps] } : {}),
      })),
    })),
    needs: g.needs?.map((n) => ({ ...n })),
    dimBounds: g.dimBounds?.map((b) => ({ ...b })),
  };
}

export function cloneType(t: TensorType): TensorType {
  return { dtype: t.dtype, shape: [...t.shape] };
}

/** "f32[N, 3, 224, 224]" */
export function formatType(t: TensorType): string {
  return `${t.dtype}[${t.shape.join(", ")}]`;
}

/** "file.dlm:12:7" */
export function formatSpan(s: Span): string {
  return `${s.file}:${s.line}:${s.col}`;
}

/** Map from value name to the node producing it. */
export function producers(g: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) m.set(o, n);
  return m;
}

/** Map from value name to the nodes reading it (graph outputs are not included). */
export function consumers(g: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (!i) continue;
      let l = m.get(i);
      if (!l) m.set(i, l = []);
      if (!l.includes(n)) l.push(n);
    }
  }
  return m;
}
