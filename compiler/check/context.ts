/**
 * What built-in layers and functions may do while the elaborator runs them:
 * add nodes, create parameters, make constants, report diagnostics.
 */
import type { AttrValue, Node, Span, TensorType } from "../ir/graph.ts";
import type { DType, Tensor } from "../ir/tensor.ts";
import type { Code } from "../diagnostics.ts";
import type { InitSpec } from "./init.ts";
import type { TensorValue, Value } from "./values.ts";

export interface ParamOptions {
  dtype?: DType;
  trainable?: boolean;
  /** Layer kind for `init conv2d.weight = ...` rules and `dlm params`. */
  layer: string;
  /** Explicit initialiser from the call (`init: xavier`), which beats rules. */
  explicit?: InitSpec;
}

export interface Ctx {
  readonly mode: "eval" | "train";
  /** Span of the call being elaborated. */
  readonly span: Span;
  /**
   * Add an ONNX-semantics node. Returns its outputs, or undefined after
   * reporting a shape error at the call's span.
   */
  op(
    op: string,
    inputs: string[],
    attrs?: Record<string, AttrValue>,
    opts?: { nOutputs?: number; name?: string },
  ): TensorValue[] | undefined;
  /** Create (or, for a shared instance, reuse) a parameter `prefix.role`. */
  param(
    prefix: string,
    role: string,
    shape: number[],
    init: InitSpec,
    opts: ParamOptions,
  ): TensorValue | undefined;
  /** A constant initializer (deduplicated for small tensors). */
  constant(t: Tensor, base?: string): TensorValue;
  /** A scalar constant of a dtype. */
  scalar(v: number, dtype: DType): TensorValue;
  /** Report an error at `span` (default: the call) and return the poison value. */
  error(code: Code, message: string, span?: Span): Value;
  /** Span of a bound argument, for precise errors. */
  argSpan(name: string): Span;
  /** Convert an `init` argument (initfn or init) to a spec. */
  initSpec(v: Value): InitSpec;
  /** A fresh seed for an in-graph random op, derived from the global seed and the node. */
  seedFor(name: string): number;
  typeOf(v: TensorValue): TensorType;
  /** The node that computes a value (undefined for inputs and initializers). */
  producerOf(value: string): Node | undefined;
  /**
   * Give a value a more precise type than its shape rule could: dims the
   * rule left unknown (`?Op_k`, only known at run time) replaced by what
   * the built-in knows (e.g. a Reshape whose shape is assembled from the
   * input's own dims). Known dims must agree.
   */
  refine(v: TensorValue, type: TensorType): TensorValue;
}
