/**
 * What an op declares: `OpDef`, one per IR op, exported by
 * `compiler/ops/<op>.ts` and listed in the table of `compiler/ops/table.ts`.
 * It holds the op's signature, its shape rule, its ONNX lowering and its
 * gradient facet (a rule, `differentiable: false`, or why there is no rule
 * yet). The semantics of an op are those of the ONNX operator of the same
 * name at the opset in `since`. Nothing registers itself: this module only
 * declares types, plus the one mutable corner, `register`, for ops that
 * exist only in tests.
 */
import type { ExprGraph } from "../ir/expr.ts";
import type { AttrType, AttrValue, Node, TensorType, ValueInfo } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import type { Code } from "../diagnostics.ts";

export type { AttrType };

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

/**
 * A shape rule failed. The rule that throws knows what kind of mistake it is and builds its code
 * and message from the catalogue, `new ShapeError(...diag(code, ...args))`; the caller adds the
 * location.
 */
export class ShapeError extends Error {
  constructor(readonly code: Code, message: string) {
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
  /**
   * The expression API over this context, so that a rule reads like its
   * formula: `c.e.v(c.outputGrads[0]).mul(y)`. It is the only way a rule
   * adds to the backward graph: its nodes are named after the forward
   * node, its constants are the backward graph's shared `grad_const`
   * initializers, and numbers become scalars of the other operand's dtype.
   */
  e: ExprGraph;
  /** The type of any value of the graph. */
  typeOf(name: string): TensorType;
  /** The value of `name` when it is a compile-time constant (Slice's starts, Pow's exponent). */
  constantOf(name: string): Tensor | undefined;
  /**
   * Sum a gradient of a broadcast result back to the shape of the operand
   * it came from (the adjoint of numpy broadcasting).
   */
  unbroadcast(grad: string, to: TensorType): string;
  /**
   * The graph's inputs: where shape-derived values (the batch size a mean divides by) read
   * their symbolic dims, so that every rule computes them from the same nodes (`countOver`).
   */
  graphInputs: readonly ValueInfo[];
  /**
   * The node computing `name` when it lies on the gradient's path and the gradient of `name`
   * itself is not asked for: a rule may then differentiate through that node as well, and
   * return no gradient for `name` (Mul's rule takes x * sigmoid(x) whole). Undefined otherwise.
   */
  producerOnPath(name: string): Node | undefined;
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
  /**
   * The gradient facet: every op has exactly one of `grad`,
   * `differentiable: false` and `noGradYet` (the op-facets test checks it).
   * `grad` is the reverse-mode rule; each op with one has a
   * finite-difference case in `compiler/grad/grad_cases.ts`.
   */
  grad?: GradRule;
  /**
   * false: the outputs carry no gradient (integer or boolean results,
   * shapes, constants, random draws); the backward pass stops at the op.
   */
  differentiable?: false;
  /**
   * The op is differentiable but has no rule yet: why. Differentiating
   * through it is error DLM0417.
   */
  noGradYet?: string;
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

/**
 * The key of an op in the op table and in the kernel table
 * (`runtime/reference/kernels/mod.ts`): its name, prefixed by "domain::"
 * outside the default domain.
 */
export function opKey(op: string, domain = ""): string {
  return domain ? `${domain}::${op}` : op;
}

/** The domain of ops that exist only in tests (see `register`). */
export const TEST_DOMAIN = "dlm.test";

const TEST_OPS = new Map<string, OpDef>();

/**
 * Add an op that exists only in tests (domain "dlm.test"), to exercise what
 * no real op has (every attribute kind, a lowering, a pass-relevant
 * nature). Real ops are never registered: they are listed in
 * `compiler/ops/table.ts`.
 */
export function register(def: OpDef): OpDef {
  if (def.domain !== TEST_DOMAIN) {
    throw new Error(
      `register(): op ${
        opKey(def.op, def.domain)
      } is not a test op; list it in compiler/ops/table.ts`,
    );
  }
  const k = opKey(def.op, def.domain);
  if (TEST_OPS.has(k)) throw new Error(`op ${k} registered twice`);
  TEST_OPS.set(k, def);
  return def;
}

/** A test op added by `register`, if any (read by `getOp` after the table). */
export function testOp(op: string, domain = ""): OpDef | undefined {
  return domain === TEST_DOMAIN ? TEST_OPS.get(opKey(op, domain)) : undefined;
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
