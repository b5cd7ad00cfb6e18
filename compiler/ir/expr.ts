/**
 * One graph-building API for every piece of code that writes ONNX maths into
 * a graph: gradient rules (`compiler/ops`), losses and other built-ins
 * (`compiler/check/builtins`), optimisers, schedules and clipping
 * (`compiler/train`), and passes. A rule reads like its formula:
 *
 * ```ts
 * // d tanh(x) = 1 - y^2
 * const dx = g.mul(e.v(y).square().rsub(1));
 * ```
 *
 * The module sits in the IR layer and imports only IR types: whatever can
 * append a node (a `GraphBuilder`, a gradient rule's `GradContext`, a
 * built-in's `Ctx`) is wrapped behind the small {@link NodeSink} interface.
 * Numbers given as operands become scalar constants of the other operand's
 * dtype (or of the context's fixed dtype), made through the sink, so each
 * graph-building context shares its constants through one
 * {@link ConstantPool}: the backward graph's `grad_const` initializers (one
 * pool per graph), each training builder call's `train_const` (one pool per
 * call), the elaborator's `const` (behind `Ctx.constant`).
 * The contexts keep separate pools on purpose: merging them would rename
 * initializers of every compiled training step.
 *
 * Every method appends exactly the node(s) its name says, in the order the
 * expression is evaluated (receiver first, then arguments left to right), so
 * rewriting `op1(c, "Mul", [a, b])` as `a.mul(b)` leaves the graph unchanged.
 */
import type { AttrValue, TensorType } from "./graph.ts";
import { type DType, DTYPES, type Tensor, tensor } from "./tensor.ts";

/** Options for one node: outputs wanted (default: what its shape rule gives), domain, name. */
export interface NodeOpts {
  nOutputs?: number;
  domain?: string;
  name?: string;
}

/** Anything that can append a node to a graph and make constants in it. */
export interface NodeSink {
  /** Append a node; its output value names. Throws when the node cannot be added. */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue>, opts: NodeOpts): string[];
  /** A constant initializer holding `t` (small ones shared, as the context decides). */
  constant(t: Tensor): string;
  /** The type of a value of the graph. */
  typeOf(name: string): TensorType;
  /**
   * A scalar constant, where the context encodes scalars its own way (the
   * elaborator stores 16-bit floats as their bits); absent: `constant` of
   * `tensor(dtype, [], [v])`.
   */
  scalar?(v: number, dtype: DType): string;
}

/** An operand: a value, a value's name, or a number (a scalar of the other operand's dtype). */
export type Operand = Expr | string | number;

/** How a {@link ConstantPool} matches constants. */
export interface ConstantPoolOptions {
  /**
   * Treat 0 and -0 as the same constant. The elaborator's pool does, as its
   * cache always has (so `x * -0.0` reads the `0.0` made before it; keeping
   * that keeps compiled models byte-identical); the others keep them apart.
   */
  mergeSignedZeros?: boolean;
  /**
   * Share tensors of any size whose elements are all one value (the zeros and ones of a batch
   * norm used as a per-channel affine map, compiler/ops/batch_normalization.ts): the backward
   * graph's pool does; the elaborator's does not, so a model's own constants keep their names.
   */
  shareUniform?: boolean;
}

/**
 * Small constants shared by value within one graph, so that a backward graph
 * does not repeat `1.0` a hundred times. Keyed by dtype, shape and data (0 and
 * -0 apart unless `mergeSignedZeros`); an entry whose initializer a pass has
 * since removed is made anew. Tensors of more than 16 elements are never shared,
 * except with `shareUniform` those whose elements are all one value.
 */
export class ConstantPool {
  #names = new Map<string, string>();
  readonly #mergeSignedZeros: boolean;
  readonly #shareUniform: boolean;

  /**
   * @param alive whether an initializer made earlier still exists
   * @param opts how constants match (see {@link ConstantPoolOptions})
   */
  constructor(
    readonly alive: (name: string) => boolean = () => true,
    opts: ConstantPoolOptions = {},
  ) {
    this.#mergeSignedZeros = opts.mergeSignedZeros ?? false;
    this.#shareUniform = opts.shareUniform ?? false;
  }

  /** The shared initializer holding `t`; `make` creates it when there is none yet. */
  get(t: Tensor, make: (t: Tensor) => string): string {
    const key = t.dtype === "str"
      ? undefined
      : t.data.length <= 16
      ? constantKey(t, this.#mergeSignedZeros)
      : this.#shareUniform
      ? uniformKey(t)
      : undefined;
    if (key !== undefined) {
      const hit = this.#names.get(key);
      if (hit !== undefined && this.alive(hit)) return hit;
    }
    const name = make(t);
    if (key !== undefined) this.#names.set(key, name);
    return name;
  }
}

/** The key of a tensor whose elements are all one value (-0 apart from 0), else undefined. */
function uniformKey(t: Tensor): string | undefined {
  const d = t.data as ArrayLike<number | bigint>;
  const first = d[0];
  for (let i = 1; i < d.length; i++) {
    if (d[i] !== first || Object.is(d[i], -0) !== Object.is(first, -0)) return undefined;
  }
  return `${t.dtype}[${t.shape}]:all ${Object.is(first, -0) ? "-0" : first}`;
}

/** The cache key of a small tensor: dtype, shape and elements (-0 kept apart from 0 unless merged). */
export function constantKey(t: Tensor, mergeSignedZeros = false): string {
  const xs = Array.from(
    t.data as ArrayLike<number | bigint>,
    (x) => !mergeSignedZeros && Object.is(x, -0) ? "-0" : x,
  );
  return `${t.dtype}[${t.shape}]:${xs.join(",")}`;
}

/**
 * What a `GraphBuilder` offers (typed structurally so that this module does
 * not import the builder and, through it, the op table).
 */
export interface BuilderLike {
  addNode(
    op: string,
    inputs: string[],
    attrs?: Record<string, AttrValue>,
    opts?: NodeOpts,
  ): string[];
  typeOf(name: string): TensorType | undefined;
  initializer(name: string, t: Tensor): string;
  readonly graph: { initializers: Map<string, Tensor> };
}

/**
 * A sink over a GraphBuilder whose constants are initializers named `base`,
 * `base_1`, ..., shared through `pool` (default: a pool of its own);
 * `nodeName` names each node from its op (default: the builder's naming).
 */
export function builderSink(
  b: BuilderLike,
  base: string,
  opts: { pool?: ConstantPool; nodeName?: (op: string) => string } = {},
): NodeSink {
  const pool = opts.pool ?? new ConstantPool((name) => b.graph.initializers.has(name));
  const nodeName = opts.nodeName;
  return {
    node: (op, inputs, attrs, o) =>
      b.addNode(op, inputs, attrs, nodeName ? { name: nodeName(op), ...o } : o),
    constant: (t) => pool.get(t, (t) => b.initializer(base, t)),
    typeOf: (name) => {
      const t = b.typeOf(name);
      if (!t) throw new Error(`internal: value ${name} has no type`);
      return t;
    },
  };
}

/** Values and constants of one graph-building context. */
export class ExprGraph {
  /**
   * @param sink where nodes and constants go
   * @param scalarDtype the dtype of every number operand, when the context fixes one
   *   (training maths and losses are f32); absent: the other operand's dtype
   */
  constructor(readonly sink: NodeSink, readonly scalarDtype?: DType) {}

  /** The value named `name`. */
  v(name: string): Expr {
    return new Expr(this, name);
  }
  /** A constant (shared when small). */
  constant(t: Tensor): Expr {
    return this.v(this.sink.constant(t));
  }
  /** A scalar constant of `dtype`. */
  scalar(v: number, dtype: DType): Expr {
    return this.sink.scalar
      ? this.v(this.sink.scalar(v, dtype))
      : this.constant(tensor(dtype, [], [v]));
  }
  /** A 1-D i64 constant: axes, shapes, pads, slice bounds. */
  ints(xs: readonly number[]): Expr {
    return this.constant(tensor("i64", [xs.length], xs));
  }
  /** Any op, all its outputs: the escape hatch for what has no method. */
  op(
    op: string,
    inputs: readonly (Expr | string)[],
    attrs: Record<string, AttrValue> = {},
    opts: NodeOpts = {},
  ): Expr[] {
    return this.sink.node(op, inputs.map(nameOf), attrs, opts).map((o) => this.v(o));
  }
  /** Any op with one output. */
  op1(
    op: string,
    inputs: readonly (Expr | string)[],
    attrs: Record<string, AttrValue> = {},
    opts: NodeOpts = {},
  ): Expr {
    return this.op(op, inputs, attrs, opts)[0];
  }
  /** A number as a scalar of the context's dtype for numbers (see `scalarDtype`). */
  num(v: number): Expr {
    if (!this.scalarDtype) throw new Error("internal: num() needs a context with a scalar dtype");
    return this.scalar(v, this.scalarDtype);
  }
  /** cond ? a : b (numbers take the context's scalar dtype, else the other branch's dtype). */
  where(cond: Expr | string, a: Operand, b: Operand): Expr {
    const dtype = (other: Operand): DType => {
      if (this.scalarDtype) return this.scalarDtype;
      if (typeof other === "number") throw new Error("internal: where() of two numbers");
      return this.v(nameOf(other)).dtype;
    };
    const va = typeof a === "number" ? this.scalar(a, dtype(b)).name : nameOf(a);
    const vb = typeof b === "number" ? this.scalar(b, dtype(a)).name : nameOf(b);
    return this.op1("Where", [cond, va, vb]);
  }
}

function nameOf(x: Expr | string): string {
  return typeof x === "string" ? x : x.name;
}

/** Axes given as numbers become an i64 constant input; a value is passed as it is. */
type Axes = readonly number[] | Expr | string;

/** keepdims: true or false sets the attribute; undefined leaves it out (ONNX default: keep). */
function keep(keepdims: boolean | undefined): Record<string, AttrValue> {
  return keepdims === undefined ? {} : { keepdims: keepdims ? 1 : 0 };
}

/** A value of a graph, with one method per op it commonly feeds. */
export class Expr {
  constructor(readonly graph: ExprGraph, readonly name: string) {}

  /** The value's type. */
  get type(): TensorType {
    return this.graph.sink.typeOf(this.name);
  }
  get dtype(): DType {
    return this.type.dtype;
  }
  toString(): string {
    return this.name;
  }

  /** An operand as a value name: a number becomes a scalar of this value's dtype. */
  operand(x: Operand): string {
    return typeof x === "number"
      ? this.graph.scalar(x, this.graph.scalarDtype ?? this.dtype).name
      : nameOf(x);
  }
  /**
   * `op(this, ...inputs)` with one output; `opts.name` names the node (and
   * so, where the context derives value names from node names, its output).
   */
  op(
    op: string,
    inputs: readonly Operand[] = [],
    attrs: Record<string, AttrValue> = {},
    opts: NodeOpts = {},
  ): Expr {
    const names = [this.name];
    for (const x of inputs) names.push(this.operand(x));
    return this.graph.op1(op, names, attrs, opts);
  }

  // Element-wise binary ops (numpy broadcasting).
  add(x: Operand): Expr {
    return this.op("Add", [x]);
  }
  sub(x: Operand): Expr {
    return this.op("Sub", [x]);
  }
  /**
   * x - this: for `1 - y`, written `y.rsub(1)`. The constant is made after
   * the receiver's nodes; where a rewrite must keep the order of constants,
   * write `graph.scalar(1, dtype).sub(y)`.
   */
  rsub(x: number): Expr {
    return this.graph.op1("Sub", [this.operand(x), this.name]);
  }
  mul(x: Operand): Expr {
    return this.op("Mul", [x]);
  }
  div(x: Operand): Expr {
    return this.op("Div", [x]);
  }
  /** x / this. */
  rdiv(x: number): Expr {
    return this.graph.op1("Div", [this.operand(x), this.name]);
  }
  pow(x: Operand): Expr {
    return this.op("Pow", [x]);
  }
  /** Element-wise maximum. */
  max(x: Operand): Expr {
    return this.op("Max", [x]);
  }
  /** Element-wise minimum. */
  min(x: Operand): Expr {
    return this.op("Min", [x]);
  }
  /** this * this. */
  square(): Expr {
    return this.mul(this);
  }
  /** this * k for a number k; k = 1 adds no node. */
  scale(k: number): Expr {
    return k === 1 ? this : this.mul(k);
  }
  /** this + k x, the axpy of update rules; k = 0 adds no node. */
  axpy(k: number, x: Expr): Expr {
    return k === 0 ? this : this.add(x.scale(k));
  }

  // Comparisons and logic.
  greater(x: Operand): Expr {
    return this.op("Greater", [x]);
  }
  greaterOrEqual(x: Operand): Expr {
    return this.op("GreaterOrEqual", [x]);
  }
  less(x: Operand): Expr {
    return this.op("Less", [x]);
  }
  lessOrEqual(x: Operand): Expr {
    return this.op("LessOrEqual", [x]);
  }
  equal(x: Operand): Expr {
    return this.op("Equal", [x]);
  }
  and(x: Operand): Expr {
    return this.op("And", [x]);
  }
  or(x: Operand): Expr {
    return this.op("Or", [x]);
  }
  not(): Expr {
    return this.op("Not");
  }
  /** this ? a : b, with this a bool condition. */
  where(a: Operand, b: Operand): Expr {
    return this.graph.where(this, a, b);
  }

  // Element-wise unary ops.
  neg(): Expr {
    return this.op("Neg");
  }
  abs(): Expr {
    return this.op("Abs");
  }
  sign(): Expr {
    return this.op("Sign");
  }
  exp(): Expr {
    return this.op("Exp");
  }
  log(): Expr {
    return this.op("Log");
  }
  sqrt(): Expr {
    return this.op("Sqrt");
  }
  reciprocal(): Expr {
    return this.op("Reciprocal");
  }
  relu(): Expr {
    return this.op("Relu");
  }
  sigmoid(): Expr {
    return this.op("Sigmoid");
  }
  tanh(): Expr {
    return this.op("Tanh");
  }
  sin(): Expr {
    return this.op("Sin");
  }
  cos(): Expr {
    return this.op("Cos");
  }
  /** The same elements as `dtype`. */
  cast(dtype: DType): Expr {
    return this.op("Cast", [], { to: DTYPES[dtype].onnx });
  }

  // Reductions: axes as an input (ReduceSum, opset 13) or an attribute (the others, before 18).
  sum(axes?: Axes, keepdims?: boolean): Expr {
    const ins = axes === undefined ? [] : [this.#axes(axes)];
    return this.op("ReduceSum", ins, keep(keepdims));
  }
  /** The sum of all elements, a scalar. */
  sumAll(): Expr {
    return this.sum(undefined, false);
  }
  /** The mean of all elements, a scalar. */
  meanAll(): Expr {
    return this.mean(undefined, false);
  }
  mean(axes?: readonly number[], keepdims?: boolean): Expr {
    return this.#reduce("ReduceMean", axes, keepdims);
  }
  reduceMax(axes?: readonly number[], keepdims?: boolean): Expr {
    return this.#reduce("ReduceMax", axes, keepdims);
  }
  sumSquare(axes?: readonly number[], keepdims?: boolean): Expr {
    return this.#reduce("ReduceSumSquare", axes, keepdims);
  }
  #reduce(op: string, axes: readonly number[] | undefined, keepdims: boolean | undefined): Expr {
    return this.op(op, [], { ...(axes ? { axes: [...axes] } : {}), ...keep(keepdims) });
  }
  #axes(axes: Axes): string {
    return typeof axes === "string" || axes instanceof Expr
      ? nameOf(axes)
      : this.graph.ints(axes).name;
  }

  // Shapes and layout.
  reshape(shape: Axes): Expr {
    return this.op("Reshape", [this.#axes(shape)]);
  }
  transpose(perm?: readonly number[]): Expr {
    return this.op("Transpose", [], perm ? { perm: [...perm] } : {});
  }
  unsqueeze(axes: Axes): Expr {
    return this.op("Unsqueeze", [this.#axes(axes)]);
  }
  squeeze(axes: Axes): Expr {
    return this.op("Squeeze", [this.#axes(axes)]);
  }
  expand(shape: Axes): Expr {
    return this.op("Expand", [this.#axes(shape)]);
  }
  /** The runtime shape as a 1-D i64 value. */
  shape(): Expr {
    return this.op("Shape");
  }
  matmul(x: Operand): Expr {
    return this.op("MatMul", [x]);
  }
}

/** A graph-building context over a sink. */
export function exprGraph(sink: NodeSink, scalarDtype?: DType): ExprGraph {
  return new ExprGraph(sink, scalarDtype);
}
