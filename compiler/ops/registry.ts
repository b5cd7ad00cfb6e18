/**
 * The op registry: one entry per IR op, defined in `compiler/ops/<op>.ts`,
 * holding its signature, its shape rule, its ONNX lowering and a slot for its
 * gradient rule (filled by the training work). The semantics of an op are
 * those of the ONNX operator of the same name at the opset in `since`.
 */
import type { AttrValue, Node, TensorType } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";

/** ONNX attribute types. */
export type AttrType =
  | "int"
  | "float"
  | "string"
  | "ints"
  | "floats"
  | "strings"
  | "tensor"
  | "graph";

export interface AttrSpec {
  type: AttrType;
  /** Value used when the attribute is absent (per the ONNX spec). */
  default?: AttrValue;
  required?: boolean;
}

export interface PortSpec {
  name: string;
  optional?: boolean;
  /** Takes all remaining inputs (Concat, Sum, Max, ...). */
  variadic?: boolean;
}

/** A shape rule failed: the message is for people (no code, no location: the caller adds them). */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

export interface InferContext {
  /** Types of the inputs; undefined for an omitted optional input. */
  inputs: (TensorType | undefined)[];
  /** Attributes with defaults filled in. */
  attrs: Record<string, AttrValue>;
  /** The value of input `i` when it is a compile-time constant (e.g. Reshape's shape). */
  constant(i: number): Tensor | undefined;
  /**
   * Number of outputs of the node, when known. Split without a `split`
   * input needs it (it divides its input into that many equal parts).
   */
  outputCount?: number;
}

/**
 * What a gradient rule may do: read the forward node and its types, and
 * add nodes to the backward graph (standard ONNX ops, so that a whole
 * training step stays plain ONNX).
 */
export interface GradContext {
  /** The forward node being differentiated. */
  node: Node;
  /** Types of its inputs (undefined for an omitted optional input). */
  inputTypes: (TensorType | undefined)[];
  /** Types of its outputs. */
  outputTypes: TensorType[];
  /**
   * The gradient of the loss with respect to each output, as a value name;
   * "" for an output the loss does not depend on.
   */
  outputGrads: string[];
  /** Append a node to the backward graph; returns its output value names. */
  op(
    op: string,
    inputs: string[],
    attrs?: Record<string, AttrValue>,
    opts?: { nOutputs?: number; domain?: string },
  ): string[];
  /** A constant initializer (small tensors are shared). */
  constant(t: Tensor): string;
  /** The type of any value of the graph. */
  typeOf(name: string): TensorType;
  /** The value of `name` when it is a compile-time constant (Slice's starts, Pow's exponent). */
  constantOf(name: string): Tensor | undefined;
  /**
   * Sum a gradient of a broadcast result back to the shape of the operand
   * it came from (the adjoint of numpy broadcasting).
   */
  unbroadcast(grad: string, to: TensorType): string;
}

/**
 * A reverse-mode gradient rule: the gradients of the loss with respect to
 * each input of `ctx.node`, as value names; undefined for inputs that are
 * not differentiable (integer indices, shapes) or not needed.
 */
export type GradRule = (ctx: GradContext) => (string | undefined)[];

export interface OpDef {
  /** ONNX operator type, e.g. "Conv". */
  op: string;
  domain?: string;
  /** Opset version whose definition this entry follows. */
  since: number;
  inputs: PortSpec[];
  outputs: PortSpec[];
  attrs: Record<string, AttrSpec>;
  /** Output types from input types; throws ShapeError on bad input. */
  infer(ctx: InferContext): TensorType[];
  /**
   * ONNX nodes for one IR node at the target opset. Absent: the node is
   * emitted as it is. Returning nodes lets an op change form across opsets.
   */
  lower?(node: Node, opset: number): Node[];
  /** Gradient rule (reverse mode), or undefined when the op has none yet. */
  grad?: GradRule;
  /** Behaviour the graph passes rely on (see `OpNature`); absent: none. */
  nature?: OpNature[];
}

/**
 * Tags for graph passes. "eval-noop": in eval mode the node passes input 0
 * through unchanged as output 0 (its other outputs unused), so it can be
 * removed. "random": the node draws random numbers and is never
 * constant-folded.
 */
export type OpNature = "eval-noop" | "random";

const REGISTRY = new Map<string, OpDef>();

function key(op: string, domain = ""): string {
  return domain ? `${domain}::${op}` : op;
}

export function register(def: OpDef): OpDef {
  const k = key(def.op, def.domain);
  if (REGISTRY.has(k)) throw new Error(`op ${k} registered twice`);
  REGISTRY.set(k, def);
  return def;
}

export function getOp(op: string, domain = ""): OpDef | undefined {
  return REGISTRY.get(key(op, domain));
}

export function allOps(): OpDef[] {
  return [...REGISTRY.values()];
}

/** Attributes of a node with the op's defaults filled in. */
export function withDefaults(
  def: OpDef,
  attrs: Record<string, AttrValue>,
): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const [name, spec] of Object.entries(def.attrs)) {
    if (name in attrs) out[name] = attrs[name];
    else if (spec.default !== undefined) out[name] = spec.default;
  }
  for (const [name, v] of Object.entries(attrs)) if (!(name in out)) out[name] = v;
  return out;
}
