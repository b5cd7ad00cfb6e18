/**
 * The abstract syntax tree of .dlm files. Built from chevrotain's CST by
 * `cst_to_ast.ts`; every node carries the source span it came from.
 * The grammar is specified normatively in spec/language.md.
 */
import type { Span } from "../ir/graph.ts";

export interface SourceFile {
  kind: "file";
  path: string;
  decls: Decl[];
  span: Span;
}

export type Decl = ImportDecl | ModelDecl | BlockDecl | TrainDecl | ConstDecl;

/** `import "other.dlm"` (path relative to the importing file). */
export interface ImportDecl {
  kind: "import";
  path: string;
  span: Span;
}

/** A typed parameter: `width: int = 64`, or a tensor input `x: f32[N, C, H, W]`, or untyped `x`. */
export interface Param {
  name: string;
  type?: TypeExpr;
  default?: Expr;
  span: Span;
}

/** `model Name(params) { stmts }`. The parameter list is optional. */
export interface ModelDecl {
  kind: "model";
  name: string;
  params: Param[];
  body: Stmt[];
  /**
   * `model Name = Base with lora(...), ...`: a derived model. The program
   * loader copies the base's parameters and body into `params` and `body`.
   */
  base?: { name: string; span: Span };
  /** The fine-tuning methods applied (a derived model's, after its base's own). */
  with?: Expr[];
  span: Span;
  nameSpan: Span;
}

/**
 * `block Name(config params)(tensor inputs) -> type { stmts }`.
 * With a single parameter list, `config` is empty and the list holds the inputs.
 */
export interface BlockDecl {
  kind: "block";
  name: string;
  config: Param[];
  inputs: Param[];
  returnType?: TypeExpr;
  body: Stmt[];
  span: Span;
  nameSpan: Span;
}

/** `train Model with lora(...), ... { stmts }` (the training issue gives it meaning). */
export interface TrainDecl {
  kind: "train";
  model: string;
  with: Expr[];
  body: Stmt[];
  span: Span;
  nameSpan: Span;
}

/** Top-level `let name = expr` (a compile-time constant). */
export interface ConstDecl {
  kind: "const";
  name: string;
  type?: TypeExpr;
  value: Expr;
  span: Span;
  nameSpan: Span;
}

export type Stmt =
  | InputStmt
  | OutputStmt
  | LetStmt
  | AssignStmt
  | ReturnStmt
  | IfStmt
  | ForStmt
  | InitStmt
  | CopyStmt
  | FreezeStmt
  | ExprStmt;

/** `input image: f32[N, 1, 32, 32]` */
export interface InputStmt {
  kind: "input";
  name: string;
  type: TypeExpr;
  /**
   * `input pseudo: i64[N] from kmeans(features, k: 10)` in a train section: data a stage
   * computes between epochs (spec/language.md 11), not read from the data files.
   */
  source?: Expr;
  span: Span;
  nameSpan: Span;
}

/** `output logits: f32[N, 10] = expr`, or `output h` to export an existing binding. */
export interface OutputStmt {
  kind: "output";
  name: string;
  type?: TypeExpr;
  value?: Expr;
  span: Span;
  nameSpan: Span;
}

/** `let y: f32[N, 10] = expr`, or `let (a, b) = expr` (tuple destructuring). */
export interface LetStmt {
  kind: "let";
  names: string[];
  /** True for the tuple form `let (a, b) = ...`. */
  destructure: boolean;
  type?: TypeExpr;
  value: Expr;
  span: Span;
  nameSpan: Span;
}

/** `y = expr` — rebinding an existing `let` variable (loop-carried values). */
export interface AssignStmt {
  kind: "assign";
  name: string;
  value: Expr;
  span: Span;
  nameSpan: Span;
}

/** `return expr` or `return a, b` (a tuple). */
export interface ReturnStmt {
  kind: "return";
  value: Expr;
  span: Span;
}

export interface IfStmt {
  kind: "if";
  cond: Expr;
  then: Stmt[];
  /** `else { ... }`; an `else if` is a nested IfStmt as the only statement. */
  else?: Stmt[];
  span: Span;
}

/** `for i in 0..n { ... }`, `for (c, s) in [(64, 1), (128, 2)] { ... }` */
export interface ForStmt {
  kind: "for";
  names: string[];
  destructure: boolean;
  iter: Expr;
  body: Stmt[];
  span: Span;
}

/**
 * `init conv2d.weight = kaiming_normal(mode: "fan_out")` or
 * `init "layer*.bn2.weight" = zeros`: initialisation of the parameters whose
 * layer kind and role, or hierarchical name (glob), match the target.
 */
export interface InitStmt {
  kind: "init";
  target: string;
  /** True when the target was written as a string (a name glob). */
  glob: boolean;
  value: Expr;
  span: Span;
}

/**
 * `init ref from policy` or `init "ref.h.0" from "policy.h.0"`: the parameters and buffers under
 * `target` start as copies of those under `source` (a reference model, a target network, an
 * EMA teacher). Both are names relative to the level, never patterns.
 */
export interface CopyStmt {
  kind: "copy";
  target: string;
  source: string;
  /** Where each name is written, for diagnostics about one side. */
  targetSpan: Span;
  sourceSpan: Span;
  span: Span;
}

/** `freeze "features.*"` or `freeze features`: parameters excluded from training. */
export interface FreezeStmt {
  kind: "freeze";
  target: string;
  glob: boolean;
  span: Span;
}

export interface ExprStmt {
  kind: "expr";
  expr: Expr;
  span: Span;
}

export type TypeExpr = ScalarTypeExpr | TensorTypeExpr | TupleTypeExpr;

/** `int`, `float`, `bool`, `str`, or `tensor` (any tensor). */
export interface ScalarTypeExpr {
  kind: "scalar_type";
  name: "int" | "float" | "bool" | "str" | "tensor";
  span: Span;
}

/** `f32[N, 3, H * 2, 10]`; `_` is any one dim, `...` any number of dims. */
export interface TensorTypeExpr {
  kind: "tensor_type";
  dtype: string;
  dims: DimExpr[];
  span: Span;
}

export type DimExpr = Expr | { kind: "dim_any"; span: Span } | { kind: "dim_rest"; span: Span };

export interface TupleTypeExpr {
  kind: "tuple_type";
  items: TypeExpr[];
  span: Span;
}

export type Expr =
  | NumExpr
  | StrExpr
  | BoolExpr
  | NameExpr
  | TupleExpr
  | ListExpr
  | UnaryExpr
  | BinaryExpr
  | CallExpr
  | IndexExpr
  | MemberExpr
  | PipeExpr
  | LabeledExpr
  | IfExpr
  | RangeExpr
  | SharingExpr;

export interface NumExpr {
  kind: "num";
  value: number;
  /** Written without a decimal point or exponent. */
  isInt: boolean;
  span: Span;
}

/** A string; `${expr}` parts are interpolated (`"layer${i + 1}"`). */
export interface StrExpr {
  kind: "str";
  parts: (string | Expr)[];
  span: Span;
}

export interface BoolExpr {
  kind: "bool";
  value: boolean;
  span: Span;
}

export interface NameExpr {
  kind: "name";
  name: string;
  span: Span;
}

/** `(a, b)`; `(a,)` is a 1-tuple. */
export interface TupleExpr {
  kind: "tuple";
  items: Expr[];
  span: Span;
}

/** `[a, b, c]` */
export interface ListExpr {
  kind: "list";
  items: Expr[];
  span: Span;
}

/**
 * `GPT2Cached(...) sharing policy`: the layer `layer` makes whose parameters are those of the
 * instance `source` names, matched by path (language.md 8.6).
 */
export interface SharingExpr {
  kind: "sharing";
  layer: Expr;
  source: Expr;
  /** The word `sharing`. */
  wordSpan: Span;
  span: Span;
}

export interface UnaryExpr {
  kind: "unary";
  op: "-" | "+" | "!";
  operand: Expr;
  span: Span;
}

export type BinaryOp =
  | "+"
  | "-"
  | "*"
  | "/"
  | "%"
  | "**"
  | "@"
  | "=="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">="
  | "&&"
  | "||";

export interface BinaryExpr {
  kind: "binary";
  op: BinaryOp;
  left: Expr;
  right: Expr;
  span: Span;
  opSpan: Span;
}

export interface Arg {
  /** Set for a named argument `kernel: 3`. */
  name?: string;
  value: Expr;
  span: Span;
}

/** `f(a, b, key: v)`; `conv2d(64)(x)` is a call whose callee is a call. */
export interface CallExpr {
  kind: "call";
  callee: Expr;
  args: Arg[];
  span: Span;
}

/** `:` slices inside an index: `x[:, 1:3, ::2]`. */
export interface SliceExpr {
  kind: "slice";
  start?: Expr;
  end?: Expr;
  step?: Expr;
  span: Span;
}

/** `...` inside an index, `x[..., 0]`: as many full slices as the rank leaves. */
export interface EllipsisIndex {
  kind: "ellipsis";
  span: Span;
}

/** `t[0]`, `x[:, 0]`, `x[..., 1:]`. */
export interface IndexExpr {
  kind: "index";
  target: Expr;
  indices: (Expr | SliceExpr | EllipsisIndex)[];
  span: Span;
}

/** `x.shape`, `cfg.width`. */
export interface MemberExpr {
  kind: "member";
  target: Expr;
  name: string;
  span: Span;
  nameSpan: Span;
}

/**
 * A label names a layer instance: `conv1: conv2d(64)` or, with interpolation,
 * `"layer${s + 1}": Stage(...)`.
 */
export interface Label {
  parts: (string | Expr)[];
  span: Span;
}

/** One stage after `|>`. `target` is a name, a call, or a group. */
export interface PipeStage {
  label?: Label;
  target: Expr | PipeGroup;
  span: Span;
}

/** `(conv2d(64, kernel: 1) |> batch_norm)` after `|>`: a sequence of stages (numbered 0, 1, ...). */
export interface PipeGroup {
  kind: "group";
  stages: PipeStage[];
  span: Span;
}

/** `head |> stage |> stage ...` */
export interface PipeExpr {
  kind: "pipe";
  head: Expr;
  stages: PipeStage[];
  span: Span;
}

/** `conv1: conv2d(64)(x)` outside a pipe, and `downsample: (a |> b)` as a group without head. */
export interface LabeledExpr {
  kind: "labeled";
  label: Label;
  value: Expr | PipeGroup;
  span: Span;
}

/**
 * `if c { a } else { b }` as an expression; both branches are required. A branch may run
 * statements before its value (`if c { let t = f(x); t * 2 } else { x }`): `thenBody` and
 * `elseBody`, in a scope of their own; `then` and `else` are the branches' last expressions.
 */
export interface IfExpr {
  kind: "ifexpr";
  cond: Expr;
  thenBody: Stmt[];
  then: Expr;
  elseBody: Stmt[];
  else: Expr;
  span: Span;
}

/** `a..b` (b excluded) or `a..=b` (b included). */
export interface RangeExpr {
  kind: "range";
  start: Expr;
  end: Expr;
  inclusive: boolean;
  span: Span;
}
