/**
 * What built-in layers and functions may do while the elaborator runs them:
 * add nodes, create parameters, make constants, report diagnostics. The
 * compile-time functions (scan, param, phase, the optimiser constructors...)
 * are built-ins on the same seam; the few things only they need are the
 * last members of Ctx, marked as such.
 */
import type { AttrValue, Dim, InputNeed, Node, Span, TensorType } from "../ir/graph.ts";
import type { GraphBuilder } from "../ops/builder.ts";
import type { DType, Tensor } from "../ir/tensor.ts";
import type { Code } from "../diagnostics.ts";
import type { InitSpec } from "../ir/init.ts";
import type { ArgIn, Bound, ParamSig } from "./signature.ts";
import type { Instance, TensorValue, Value } from "./values.ts";

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
   * Add an ONNX-semantics node (of `opts.domain`, default ONNX's). Returns
   * its outputs, or undefined after reporting a shape error at the call's span.
   */
  op(
    op: string,
    inputs: string[],
    attrs?: Record<string, AttrValue>,
    opts?: { nOutputs?: number; name?: string; domain?: string },
  ): TensorValue[] | undefined;
  /** Create (or, for a shared instance, reuse) a parameter `prefix.role`. */
  param(
    prefix: string,
    role: string,
    shape: number[],
    init: InitSpec,
    opts: ParamOptions,
  ): TensorValue | undefined;
  /**
   * The existing parameter a built-in names (`tied_linear("wte.weight")`): `name` below the
   * call's level, else below each enclosing level out to the top, so a block names its own
   * layers whatever its instance is called, and an enclosing model's too. Never creates one:
   * a name that matches none is DLM0215 at `span` (default: the call), saying `what` named it
   * (`tied_linear("wte.weigth")`) and the nearest existing name.
   */
  paramRef(name: string, what: string, span?: Span): TensorValue | undefined;
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
  /**
   * A model input whose declared type has the symbolic dim `d`, and the axis it has it at: where
   * a built-in reads the dim's size at run time (`expand(row, (N, 8))` for a row without N).
   */
  dimSource(d: string): { value: TensorValue; axis: number } | undefined;
  /** The node that computes a value (undefined for inputs and initializers). */
  producerOf(value: string): Node | undefined;
  /**
   * Give a value a more precise type than its shape rule could: dims the
   * rule left unknown (`?Op_k`, only known at run time) replaced by what
   * the built-in knows (e.g. a Reshape whose shape is assembled from the
   * input's own dims). Known dims must agree.
   */
  refine(v: TensorValue, type: TensorType): TensorValue;
  /**
   * Declare that the call reads `v`'s values as indices (ir/graph.ts InputNeed): when `v` is a
   * model input (or a reshaping of one), data for it is checked against `need` before a run.
   */
  needIndices(v: TensorValue, need: Omit<InputNeed, "input" | "span">): void;
  /**
   * The run-time size of a symbolic dim as an i64[1] tensor: a Shape slice of a value whose
   * type has that dim (a model input first, else any value built so far). Undefined when no
   * value has it.
   */
  dimSize(d: Dim): TensorValue | undefined;
  /** A value of exactly this shape (a model input first, else any value built so far), if any. */
  valueOfShape(shape: readonly Dim[]): TensorValue | undefined;
  /**
   * d(y)/d(wrt) for each of `wrt`, built into the graph from the op table's gradient rules
   * (compiler/grad): `seed` is dL/dy (default 1, then y must have one element). Gradient nodes
   * carry the call's span. Undefined after an error was reported at the call.
   */
  gradients(y: TensorValue, wrt: TensorValue[], seed?: TensorValue): TensorValue[] | undefined;
  /** Report a warning at `span` (default: the call). */
  warn(code: Code, message: string, span?: Span): void;

  // ---- For compile-time functions, which bind their own arguments (min(3, 4) and
  // min((3, 4)) are both fine) and reach a little further into the elaboration.

  /**
   * Bind raw arguments to a signature, as layers' arguments are bound; a
   * mismatch is reported at the argument (without block-call notes), and
   * gives undefined.
   */
  bind(what: string, sig: ParamSig[], args: ArgIn[]): Bound | undefined;
  /** The name prefix of the level the call is at (`layer1.0`; "" at the top). */
  readonly prefix: string;
  /** `name` at the current level: `layer1.0.name`, or `name` at the top. */
  child(name: string): string;
  /** Apply a layer instance (built-in layer, block or group) to inputs at the call, as `cell(h, x)`. */
  apply(layer: Instance, inputs: Value[]): Value;
  /**
   * Build a subgraph (a Scan body) named `name` whose values are prefixed
   * `prefix`: while `build` runs, every node added through any context goes
   * into it; it reads the outer graph's values by name.
   */
  subgraph<T>(name: string, prefix: string, build: (b: GraphBuilder) => T): {
    body: GraphBuilder;
    result: T;
  };
  /** The next number (0, 1, ...) of `kind` in this elaboration, for unique names (scan_0). */
  ordinal(kind: string): number;
  /**
   * The trainable parameters created so far below the call's level, in order, by their names
   * relative to it (`params("*.weight")` in a block sees its own instance's parameters).
   */
  trainableParams(): { rel: string; value: TensorValue }[];
  /** The phases of the train section being elaborated; undefined outside a train section. */
  readonly phases?: PhaseDecl[];
}

/**
 * `input pseudo: i64[N] from kmeans(features, k: 10)`: data a stage computes between epochs from
 * the model as it is then, for the updates that follow (deep clustering's pseudo-labels).
 */
export interface TrainStage {
  kind: "kmeans";
  /** The graph input the stage's data feeds. */
  input: string;
  /** The value it clusters, [N, F], in this elaboration's graph. */
  source: string;
  k: number;
  /** Run before every `every`-th epoch (and a run's first). */
  every: number;
  /** Lloyd iterations of each clustering. */
  iterations: number;
  /** A data input the clusters are scored against (NMI, matched accuracy), when given. */
  classes?: string;
  /** The kmeans(...) call, and its k (where k larger than the data is reported). */
  span: Span;
  kSpan: Span;
}

/** A `phase(...)` of a train section, as declared (train/compile.ts gets them as TrainPhase). */
export interface PhaseDecl {
  name: string;
  loss: Value;
  optimizer: Value;
  /** Name glob of the parameters this phase trains (default: all). */
  params?: string;
  span: Span;
}

/**
 * A compile-time function (`scan`, `param`, `adam`, `min`, `range`...): it
 * gets its arguments unbound, as written, and runs at the call's span
 * (`ctx.span`). Unlike a built-in function it may return any value, not
 * only tensors.
 */
export type CompileFn = (ctx: Ctx, args: ArgIn[]) => Value;
