/**
 * CST -> AST: a visitor over chevrotain's concrete syntax tree (one method per
 * grammar rule) that builds the nodes of `ast.ts`, each with its span.
 *
 * It also does the checks that are easier on the tree than in the grammar:
 * type names, chained comparisons and ranges, string escapes and `${...}`
 * interpolation (each part is lexed and parsed with the same parser, its
 * positions shifted to point into the file).
 *
 * After a syntax error the tree may lack parts (chevrotain's re-sync
 * recovery); the visitor then builds a best-effort AST: a missing expression
 * becomes the name `MISSING`, and a declaration or statement with no name is
 * dropped. It never throws on a malformed tree.
 */
import type { CstNode, IToken } from "chevrotain";
import { TENSOR_DTYPES } from "../ir/tensor.ts";
import type { Span } from "../ir/graph.ts";
import { type Code, diag, type Diagnostic } from "../diagnostics.ts";
import type * as A from "./ast.ts";
import {
  interpolationEnd,
  isUnterminated,
  KEYWORDS,
  lex,
  StringLit,
  syntaxError,
} from "./lexer.ts";
import {
  describeToken,
  MAX_SYNTAX_ERRORS,
  nestingError,
  parseExpr,
  stringDepth,
  syntaxDiagnostics,
} from "./parser.ts";

/**
 * How deeply strings may nest inside `${...}` (`"${f("${g("...")}")}"` is two levels). Each level
 * is lexed and parsed again from its text, so the bound keeps that work a small multiple of the
 * file's size.
 */
export const MAX_STRING_NESTING = 8;

/** The name given to an expression that a syntax error left out. */
export const MISSING = "<missing>";

const SCALAR_TYPES = new Set(["int", "float", "bool", "str", "tensor"]);
/** Element types of tensor types. */
export { TENSOR_DTYPES };
const DTYPE_SET = new Set<string>(TENSOR_DTYPES);

type Child = CstNode | IToken;

function isToken(c: Child | undefined): c is IToken {
  return c !== undefined && (c as IToken).tokenType !== undefined;
}

/** A real token (not one invented by single-token-insertion recovery). */
function realToken(c: Child | undefined): IToken | undefined {
  if (!isToken(c) || c.isInsertedInRecovery || !Number.isFinite(c.startOffset)) return undefined;
  return c;
}

function tok(n: CstNode, key: string): IToken | undefined {
  return realToken(n.children[key]?.[0]);
}

const NONE: never[] = [];

/** The real tokens under `key` (a key holds only tokens or only nodes). */
function toks(n: CstNode, key: string): IToken[] {
  const all = (n.children[key] ?? NONE) as IToken[];
  // Copy only in the rare case of a token invented by recovery.
  return all.every((t) => realToken(t) !== undefined) ? all : all.filter((t) => realToken(t));
}

function node(n: CstNode, key: string): CstNode | undefined {
  const c = n.children[key]?.[0];
  return c && !isToken(c) ? c : undefined;
}

function nodes(n: CstNode, key: string): CstNode[] {
  return (n.children[key] ?? NONE) as CstNode[];
}

/** The first child node of a node that holds one alternative (`decl`, `statement`). */
function only(n: CstNode): CstNode | undefined {
  for (const key in n.children) {
    const c = n.children[key][0];
    if (c && !isToken(c)) return c;
  }
  return undefined;
}

function has(n: CstNode, key: string): boolean {
  return (n.children[key]?.length ?? 0) > 0;
}

/** Whether chevrotain's error recovery made any part of `n` (whose error is reported already). */
function recovered(n: CstNode): boolean {
  if (n.recoveredNode) return true;
  for (const key in n.children) {
    for (const c of n.children[key]) if (!isToken(c) && recovered(c)) return true;
  }
  return false;
}

/** The keyword that begins each kind of statement, for messages. */
const STMT_WORDS: Record<A.Stmt["kind"], string> = {
  input: "input",
  output: "output",
  let: "let",
  assign: "assignment",
  return: "return",
  if: "if",
  for: "for",
  init: "init",
  copy: "init ... from",
  freeze: "freeze",
  expr: "expression",
};

/** Binding power of the binary operators (higher binds tighter); see spec/grammar.md. */
const PRECEDENCE: Record<string, number> = {
  "||": 1,
  "&&": 2,
  "==": 3,
  "!=": 3,
  "<": 3,
  "<=": 3,
  ">": 3,
  ">=": 3,
  "..": 4,
  "..=": 4,
  "+": 5,
  "-": 5,
  "*": 6,
  "/": 6,
  "%": 6,
  "@": 6,
};
/** Comparisons and ranges: `a < b < c` and `a..b..c` are errors. */
const NON_ASSOCIATIVE = new Set([3, 4]);

/** Builds the AST of one file. `diagnostics` collects what the visitor finds. */
export class AstBuilder {
  readonly diagnostics: Diagnostic[] = [];
  readonly #file: string;
  /** The last span computed: where a node with no real token is placed. */
  #last: Span;
  /** How many `${...}` the string being read is inside. */
  #strings = 0;

  constructor(file: string) {
    this.#file = file;
    this.#last = { file, line: 1, col: 1, endLine: 1, endCol: 1 };
  }

  // ---- spans

  /** The span of a token; the previous span's end if it has no position. */
  tokenSpan(t: IToken | undefined): Span {
    if (!t || !Number.isFinite(t.startLine)) return this.#here();
    const s: Span = {
      file: this.#file,
      line: t.startLine!,
      col: t.startColumn!,
      endLine: t.endLine!,
      endCol: t.endColumn! + 1,
    };
    this.#last = s;
    return s;
  }

  /** The span of a CST node, from its first to just after its last real token. */
  nodeSpan(n: CstNode | undefined): Span {
    const l = n?.location;
    if (
      !l || !Number.isFinite(l.startLine) || !Number.isFinite(l.endLine) ||
      !Number.isFinite(l.startColumn) || !Number.isFinite(l.endColumn)
    ) {
      return this.#here();
    }
    const s: Span = {
      file: this.#file,
      line: l.startLine!,
      col: l.startColumn!,
      endLine: l.endLine!,
      endCol: l.endColumn! + 1,
    };
    this.#last = s;
    return s;
  }

  #here(): Span {
    const l = this.#last;
    return {
      file: this.#file,
      line: l.endLine,
      col: l.endCol,
      endLine: l.endLine,
      endCol: l.endCol,
    };
  }

  #error(code: Code, message: string, span: Span): void {
    this.diagnostics.push(syntaxError(code, message, span));
  }

  /** DLM0013 for a keyword where a name is bound (`let block = ...`): it may only be a label. */
  #notKeyword(t: IToken): void {
    if (KEYWORDS.includes(t.tokenType)) {
      this.#error(...diag("DLM0013", t.image), this.tokenSpan(t));
    }
  }

  #missing(): A.NameExpr {
    return { kind: "name", name: MISSING, span: this.#here() };
  }

  // ---- declarations

  decl(n: CstNode): A.Decl | undefined {
    const inner = only(n);
    if (!inner) return undefined;
    switch (inner.name) {
      case "importDecl":
        return this.importDecl(inner);
      case "constDecl":
        return this.constDecl(inner);
      case "modelDecl":
        return this.modelDecl(inner);
      case "blockDecl":
        return this.blockDecl(inner);
      case "trainDecl":
        return this.trainDecl(inner);
    }
    return undefined;
  }

  importDecl(n: CstNode): A.ImportDecl | undefined {
    const path = tok(n, "path");
    if (!path) return undefined;
    const span = this.nodeSpan(n);
    return { kind: "import", path: this.plainString(path, "an import path"), span };
  }

  constDecl(n: CstNode): A.ConstDecl | undefined {
    const name = tok(n, "name");
    if (!name) return undefined;
    this.#notKeyword(name);
    const span = this.nodeSpan(n);
    const nameSpan = this.tokenSpan(name);
    const type = node(n, "type");
    const out: A.ConstDecl = {
      kind: "const",
      name: name.image,
      value: this.exprOrMissing(node(n, "value")),
      span,
      nameSpan,
    };
    if (type) out.type = this.typeExpr(type);
    return out;
  }

  modelDecl(n: CstNode): A.ModelDecl | undefined {
    const name = tok(n, "name");
    if (!name) return undefined;
    const span = this.nodeSpan(n);
    const nameSpan = this.tokenSpan(name);
    const params = node(n, "params");
    const base = tok(n, "base");
    if (base) {
      return {
        kind: "model",
        name: name.image,
        params: [],
        body: [],
        base: { name: base.image, span: this.tokenSpan(base) },
        with: nodes(n, "with").map((e) => this.expr(e)),
        span,
        nameSpan,
      };
    }
    return {
      kind: "model",
      name: name.image,
      params: params ? this.paramList(params) : [],
      body: this.body(node(n, "body")),
      span,
      nameSpan,
    };
  }

  blockDecl(n: CstNode): A.BlockDecl | undefined {
    const name = tok(n, "name");
    if (!name) return undefined;
    const span = this.nodeSpan(n);
    const nameSpan = this.tokenSpan(name);
    const lists = nodes(n, "params").map((p) => this.paramList(p));
    const returnType = node(n, "returnType");
    const out: A.BlockDecl = {
      kind: "block",
      name: name.image,
      // With one list, it holds the inputs.
      config: lists.length >= 2 ? lists[0] : [],
      inputs: lists.length >= 2 ? lists[1] : lists[0] ?? [],
      body: [],
      span,
      nameSpan,
    };
    if (returnType) out.returnType = this.typeExpr(returnType);
    out.body = this.body(node(n, "body"));
    return out;
  }

  trainDecl(n: CstNode): A.TrainDecl | undefined {
    const name = tok(n, "name");
    if (!name) return undefined;
    const span = this.nodeSpan(n);
    const nameSpan = this.tokenSpan(name);
    return {
      kind: "train",
      model: name.image,
      with: nodes(n, "with").map((e) => this.expr(e)),
      body: this.body(node(n, "body")),
      span,
      nameSpan,
    };
  }

  paramList(n: CstNode): A.Param[] {
    const out: A.Param[] = [];
    for (const p of nodes(n, "param")) {
      const name = tok(p, "name");
      if (!name) continue;
      const param: A.Param = { name: name.image, span: this.nodeSpan(p) };
      const type = node(p, "type");
      const def = node(p, "default");
      if (type) param.type = this.typeExpr(type);
      if (def) param.default = this.expr(def);
      out.push(param);
    }
    return out;
  }

  // ---- statements

  body(n: CstNode | undefined): A.Stmt[] {
    if (!n) return [];
    const out: A.Stmt[] = [];
    for (const s of nodes(n, "statement")) {
      const stmt = this.statement(s);
      if (stmt) out.push(stmt);
    }
    return out;
  }

  statement(n: CstNode): A.Stmt | undefined {
    const inner = only(n);
    if (!inner) return undefined;
    switch (inner.name) {
      case "inputStmt":
        return this.inputStmt(inner);
      case "outputStmt":
        return this.outputStmt(inner);
      case "letStmt":
        return this.letStmt(inner);
      case "assignStmt":
        return this.assignStmt(inner);
      case "returnStmt":
        return this.returnStmt(inner);
      case "ifStmt":
        return this.ifStmt(inner);
      case "forStmt":
        return this.forStmt(inner);
      case "initStmt":
        return this.initStmt(inner);
      case "freezeStmt":
        return this.freezeStmt(inner);
      case "exprStmt": {
        const span = this.nodeSpan(inner);
        return { kind: "expr", expr: this.exprOrMissing(node(inner, "expr")), span };
      }
    }
    return undefined;
  }

  inputStmt(n: CstNode): A.InputStmt | undefined {
    const name = tok(n, "name");
    if (!name) return undefined;
    const span = this.nodeSpan(n);
    const nameSpan = this.tokenSpan(name);
    const type = node(n, "type");
    const source = node(n, "source");
    const from = source ? this.expr(source) : undefined;
    return {
      kind: "input",
      name: name.image,
      // A missing type was reported; `tensor` (any tensor) keeps the AST usable.
      type: type ? this.typeExpr(type) : { kind: "scalar_type", name: "tensor", span: nameSpan },
      ...(from ? { source: from } : {}),
      span,
      nameSpan,
    };
  }

  outputStmt(n: CstNode): A.OutputStmt | undefined {
    const name = tok(n, "name");
    if (!name) return undefined;
    const span = this.nodeSpan(n);
    const nameSpan = this.tokenSpan(name);
    const out: A.OutputStmt = { kind: "output", name: name.image, span, nameSpan };
    const type = node(n, "type");
    if (type) out.type = this.typeExpr(type);
    if (has(n, "Equals")) out.value = this.labeledOrExpr(node(n, "value"));
    return out;
  }

  letStmt(n: CstNode): A.LetStmt | undefined {
    const pat = node(n, "pattern");
    const names = pat ? this.pattern(pat) : undefined;
    if (!pat || !names || names.names.length === 0) return undefined;
    const span = this.nodeSpan(n);
    const nameSpan = this.nodeSpan(pat);
    const out: A.LetStmt = {
      kind: "let",
      names: names.names,
      destructure: names.destructure,
      value: this.#missing(),
      span,
      nameSpan,
    };
    const type = node(n, "type");
    if (type) out.type = this.typeExpr(type);
    out.value = this.labeledOrExpr(node(n, "value"));
    return out;
  }

  assignStmt(n: CstNode): A.AssignStmt | undefined {
    const name = tok(n, "name");
    if (!name) return undefined;
    const span = this.nodeSpan(n);
    const nameSpan = this.tokenSpan(name);
    return {
      kind: "assign",
      name: name.image,
      value: this.labeledOrExpr(node(n, "value")),
      span,
      nameSpan,
    };
  }

  returnStmt(n: CstNode): A.ReturnStmt {
    const span = this.nodeSpan(n);
    const values = nodes(n, "values").map((v) => this.labeledOrExpr(v));
    let value: A.Expr;
    if (values.length === 0) value = this.#missing();
    else if (values.length === 1) value = values[0];
    else value = { kind: "tuple", items: values, span: join(values[0].span, values.at(-1)!.span) };
    return { kind: "return", value, span };
  }

  ifStmt(n: CstNode): A.IfStmt {
    this.#badElse(n);
    const span = this.nodeSpan(n);
    const out: A.IfStmt = {
      kind: "if",
      cond: this.exprOrMissing(node(n, "cond")),
      then: this.body(node(n, "then")),
      span,
    };
    const elseIf = node(n, "elseIf");
    const elseBody = node(n, "else");
    if (elseIf) out.else = [this.ifStmt(elseIf)];
    else if (elseBody) out.else = this.body(elseBody);
    return out;
  }

  forStmt(n: CstNode): A.ForStmt | undefined {
    const pat = node(n, "pattern");
    const names = pat ? this.pattern(pat) : undefined;
    if (!names || names.names.length === 0) return undefined;
    const span = this.nodeSpan(n);
    return {
      kind: "for",
      names: names.names,
      destructure: names.destructure,
      iter: this.exprOrMissing(node(n, "iter")),
      body: this.body(node(n, "body")),
      span,
    };
  }

  /** `x` or `(a, (b, c))`: names flattened in source order. */
  pattern(n: CstNode): { names: string[]; destructure: boolean } {
    const name = tok(n, "name");
    if (name) {
      this.#notKeyword(name);
      return { names: [name.image], destructure: false };
    }
    const names: string[] = [];
    for (const item of nodes(n, "items")) names.push(...this.pattern(item).names);
    return { names, destructure: true };
  }

  initStmt(n: CstNode): A.InitStmt | A.CopyStmt | undefined {
    const target = this.initTarget(node(n, "target"));
    if (!target) return undefined;
    const span = this.nodeSpan(n);
    if (tok(n, "from")) {
      const source = this.initTarget(node(n, "source"));
      if (!source) return undefined;
      return {
        kind: "copy",
        target: target.target,
        source: source.target,
        targetSpan: this.nodeSpan(node(n, "target")),
        sourceSpan: this.nodeSpan(node(n, "source")),
        span,
      };
    }
    return {
      kind: "init",
      target: target.target,
      glob: target.glob,
      value: this.exprOrMissing(node(n, "value")),
      span,
    };
  }

  freezeStmt(n: CstNode): A.FreezeStmt | undefined {
    const target = this.initTarget(node(n, "target"));
    if (!target) return undefined;
    return { kind: "freeze", target: target.target, glob: target.glob, span: this.nodeSpan(n) };
  }

  initTarget(n: CstNode | undefined): { target: string; glob: boolean } | undefined {
    if (!n) return undefined;
    const glob = tok(n, "glob");
    if (glob) return { target: this.plainString(glob, "a parameter glob"), glob: true };
    const names = toks(n, "names");
    if (names.length === 0) return undefined;
    return { target: names.map((t) => t.image).join("."), glob: false };
  }

  // ---- types

  typeExpr(n: CstNode): A.TypeExpr {
    const span = this.nodeSpan(n);
    const name = tok(n, "name");
    if (name) {
      if (has(n, "LBracket")) {
        if (!DTYPE_SET.has(name.image)) {
          this.#error(
            ...diag("DLM0007", name.image, TENSOR_DTYPES.join(", ")),
            this.tokenSpan(name),
          );
        }
        return {
          kind: "tensor_type",
          dtype: name.image,
          dims: nodes(n, "dims").map((d) => this.dim(d)),
          span,
        };
      }
      if (SCALAR_TYPES.has(name.image)) {
        return { kind: "scalar_type", name: name.image as A.ScalarTypeExpr["name"], span };
      }
      if (DTYPE_SET.has(name.image)) {
        this.#error(...diag("DLM0006", name.image), span);
      } else {
        this.#error(...diag("DLM0005", name.image), span);
      }
      return { kind: "scalar_type", name: "tensor", span };
    }
    const items = nodes(n, "items").map((t) => this.typeExpr(t));
    // `(T)` is T; `(T,)` and `(T, U)` are tuple types.
    if (items.length === 1 && !has(n, "commas")) return items[0];
    return { kind: "tuple_type", items, span };
  }

  dim(n: CstNode): A.DimExpr {
    const rest = tok(n, "rest");
    if (rest) return { kind: "dim_rest", span: this.tokenSpan(rest) };
    const e = this.exprOrMissing(node(n, "expr"));
    if (e.kind === "name" && e.name === "_") return { kind: "dim_any", span: e.span };
    return e;
  }

  // ---- expressions

  exprOrMissing(n: CstNode | undefined): A.Expr {
    return n ? this.expr(n) : this.#missing();
  }

  labeledOrExpr(n: CstNode | undefined): A.Expr {
    if (!n) return this.#missing();
    const labeled = node(n, "labeledExpr");
    if (labeled) return this.labeledExpr(labeled);
    return this.exprOrMissing(node(n, "expr"));
  }

  labeledExpr(n: CstNode): A.Expr {
    const label = this.label(node(n, "label"));
    const group = node(n, "group");
    const value = group ? this.group(group) : this.exprOrMissing(node(n, "expr"));
    if (!label) return value.kind === "group" ? this.#missing() : value;
    return { kind: "labeled", label, value, span: join(label.span, value.span) };
  }

  label(n: CstNode | undefined): A.Label | undefined {
    const name = n && tok(n, "name");
    if (!name) return undefined;
    const span = this.tokenSpan(name);
    const parts = name.tokenType === StringLit ? this.stringParts(name) : [name.image];
    return { parts, span };
  }

  /** `expr = orExpr { "|>" stage }`. */
  expr(n: CstNode): A.Expr {
    const head = this.binary(n);
    const stageNodes = nodes(n, "stages");
    if (stageNodes.length === 0) return head;
    const stages = stageNodes.map((s) => this.stage(s));
    return { kind: "pipe", head, stages, span: join(head.span, stages.at(-1)!.span) };
  }

  stage(n: CstNode): A.PipeStage {
    const label = this.label(node(n, "label"));
    const group = node(n, "group");
    const targetNode = node(n, "target");
    const target: A.Expr | A.PipeGroup = group
      ? this.group(group)
      : targetNode
      ? this.postfix(targetNode)
      : this.#missing();
    const out: A.PipeStage = { target, span: label ? join(label.span, target.span) : target.span };
    if (label) out.label = label;
    return out;
  }

  group(n: CstNode): A.PipeGroup {
    const span = this.nodeSpan(n);
    return { kind: "group", stages: nodes(n, "stages").map((s) => this.stage(s)), span };
  }

  /**
   * `binaryExpr`: operands separated by operators, shaped into a tree by
   * precedence climbing over `PRECEDENCE`. All levels are left-associative
   * except comparisons and ranges, which do not associate: a chain of them
   * is reported (and kept left-associated in the best-effort tree).
   */
  binary(n: CstNode): A.Expr {
    const operands = nodes(n, "operands");
    const ops = toks(n, "ops");
    if (ops.length === 0) return this.unaryOrMissing(operands[0]);
    const items = operands.map((o) => this.unary(o));
    let next = 0;
    let pos = 0;
    const climb = (minPrec: number): A.Expr => {
      let left = items[next++] ?? this.#missing();
      while (pos < ops.length) {
        const op = ops[pos];
        const prec = PRECEDENCE[op.image] ?? 0;
        if (prec < minPrec) break;
        pos++;
        const right = climb(prec + 1);
        left = this.combine(op, left, right);
        const following = ops[pos];
        if (following && PRECEDENCE[following.image] === prec && NON_ASSOCIATIVE.has(prec)) {
          this.#chainError(op, following);
        }
      }
      return left;
    };
    return climb(1);
  }

  combine(op: IToken, left: A.Expr, right: A.Expr): A.Expr {
    const span = join(left.span, right.span);
    if (op.image === ".." || op.image === "..=") {
      return { kind: "range", start: left, end: right, inclusive: op.image === "..=", span };
    }
    const opSpan = this.tokenSpan(op);
    return { kind: "binary", op: op.image as A.BinaryOp, left, right, span, opSpan };
  }

  #chainError(first: IToken, second: IToken): void {
    const a = first.image;
    const b = second.image;
    const [code, message] = PRECEDENCE[a] === PRECEDENCE[".."]
      ? diag("DLM0008", "Ranges", "a range has one start and one end")
      : diag(
        "DLM0008",
        "Comparisons",
        `write (a ${a} b) && (b ${b} c) instead of a ${a} b ${b} c`,
      );
    this.#error(code, message, this.tokenSpan(second));
  }

  /** `unaryExpr`: prefix operators apply to the whole power `base ** exponent`. */
  unary(n: CstNode): A.Expr {
    let e = this.postfix(n);
    const sharing = tok(n, "sharing");
    if (sharing) {
      const sourceNode = node(n, "source");
      const source = sourceNode ? this.postfix(sourceNode) : this.#missing();
      e = {
        kind: "sharing",
        layer: e,
        source,
        wordSpan: this.tokenSpan(sharing),
        span: join(e.span, source.span),
      };
    }
    const starStar = tok(n, "StarStar");
    if (starStar) {
      const right = this.unaryOrMissing(node(n, "exponent"));
      e = {
        kind: "binary",
        op: "**",
        left: e,
        right,
        span: join(e.span, right.span),
        opSpan: this.tokenSpan(starStar),
      };
    }
    const prefix = toks(n, "prefix");
    for (let i = prefix.length - 1; i >= 0; i--) {
      const op = prefix[i];
      e = {
        kind: "unary",
        op: op.image as A.UnaryExpr["op"],
        operand: e,
        span: join(this.tokenSpan(op), e.span),
      };
    }
    return e;
  }

  unaryOrMissing(n: CstNode | undefined): A.Expr {
    return n ? this.unary(n) : this.#missing();
  }

  /**
   * `postfixExpr` (or the same part of a `unaryExpr`): a primary then calls,
   * indexes and member accesses.
   */
  postfix(n: CstNode): A.Expr {
    let e = this.primary(n);
    for (const op of nodes(n, "ops")) {
      const call = node(op, "call");
      const index = node(op, "index");
      if (call) {
        const args = nodes(call, "args").map((a) => this.arg(a));
        e = { kind: "call", callee: e, args, span: join(e.span, this.nodeSpan(call)) };
      } else if (index) {
        const indices = nodes(index, "items").map((i) => this.indexItem(i));
        e = { kind: "index", target: e, indices, span: join(e.span, this.nodeSpan(index)) };
      } else {
        const member = tok(op, "member");
        if (!member) continue;
        const nameSpan = this.tokenSpan(member);
        e = {
          kind: "member",
          target: e,
          name: member.image,
          span: join(e.span, nameSpan),
          nameSpan,
        };
      }
    }
    return e;
  }

  arg(n: CstNode): A.Arg {
    const name = tok(n, "name");
    const value = this.exprOrMissing(node(n, "value"));
    if (!name) return { value, span: value.span };
    return { name: name.image, value, span: join(this.tokenSpan(name), value.span) };
  }

  indexItem(n: CstNode): A.Expr | A.SliceExpr | A.EllipsisIndex {
    const dots = tok(n, "ellipsis");
    if (dots) return { kind: "ellipsis", span: this.tokenSpan(dots) };
    const startNode = node(n, "start");
    const start = startNode ? this.expr(startNode) : undefined;
    const slice = node(n, "slice");
    if (!slice) return start ?? this.#missing();
    const colons = toks(slice, "colons");
    const endNode = node(slice, "end");
    const stepNode = node(slice, "step");
    const end = endNode ? this.expr(endNode) : undefined;
    const step = stepNode ? this.expr(stepNode) : undefined;
    const first = start?.span ?? this.tokenSpan(colons[0]);
    const lastColon = colons.length ? this.tokenSpan(colons.at(-1)) : first;
    const last = step?.span ?? (colons.length > 1 ? lastColon : end?.span ?? lastColon);
    const out: A.SliceExpr = { kind: "slice", span: join(first, last) };
    if (start) out.start = start;
    if (end) out.end = end;
    if (step) out.step = step;
    return out;
  }

  /**
   * `(e)` is e, with a span that takes in the parentheses (so that the span
   * of `(b + c) * 2` covers its closing parenthesis); `(e,)` and `(a, b)`
   * are tuples.
   */
  parenExpr(n: CstNode): A.Expr {
    const span = this.nodeSpan(n);
    const items = nodes(n, "items").map((i) => this.labeledOrExpr(i));
    if (items.length === 1 && !has(n, "commas")) return { ...items[0], span };
    return { kind: "tuple", items, span };
  }

  primary(n: CstNode): A.Expr {
    const paren = node(n, "parenExpr");
    if (paren) return this.parenExpr(paren);
    const num = tok(n, "number");
    if (num) {
      const text = num.image.replace(/_/g, "");
      const span = this.tokenSpan(num);
      const value = Number(text);
      const isInt = !/[.eE]/.test(text);
      if (!Number.isFinite(value)) {
        this.diagnostics.push(syntaxError(...diag("DLM0154", describeToken(num)), span));
      } else if (isInt && !Number.isSafeInteger(value)) {
        // An integer is exact or an error (spec 3.3): 2^53 + 1 would silently read as 2^53.
        this.diagnostics.push(
          syntaxError(...diag("DLM0155", describeToken(num), value.toExponential()), span),
        );
      }
      return { kind: "num", value, isInt, span };
    }
    const str = tok(n, "string");
    if (str) {
      const span = this.tokenSpan(str);
      return { kind: "str", parts: this.stringParts(str), span };
    }
    const bool = tok(n, "bool");
    if (bool) return { kind: "bool", value: bool.image === "true", span: this.tokenSpan(bool) };
    const name = tok(n, "name");
    if (name) return { kind: "name", name: name.image, span: this.tokenSpan(name) };
    const list = node(n, "listExpr");
    if (list) {
      const span = this.nodeSpan(list);
      return { kind: "list", items: nodes(list, "items").map((i) => this.expr(i)), span };
    }
    const ifExpr = node(n, "ifExpr");
    if (ifExpr) return this.ifExpr(ifExpr);
    return this.#missing();
  }

  /** DLM0002 at a name read where `else` belongs (parser.ts, `misspeltElse`). */
  #badElse(n: CstNode): void {
    const t = tok(n, "badElse");
    if (t) this.#error(...diag("DLM0002", "'else'", describeToken(t)), this.tokenSpan(t));
  }

  ifExpr(n: CstNode): A.IfExpr {
    this.#badElse(n);
    const span = this.nodeSpan(n);
    const elseIf = node(n, "elseIf");
    const then = this.branch(node(n, "then"));
    const otherwise = elseIf
      ? { stmts: [], value: this.ifExpr(elseIf) }
      : this.branch(node(n, "else"));
    return {
      kind: "ifexpr",
      cond: this.exprOrMissing(node(n, "cond")),
      thenBody: then.stmts,
      then: then.value,
      elseBody: otherwise.stmts,
      else: otherwise.value,
      span,
    };
  }

  /**
   * A branch of an `if` expression: its statements, and the value its last statement gives, an
   * expression or an `if` statement whose branches both end in one (an `else if` chain or a nested
   * `if`, which statement position reads as a statement). DLM0011 for a statement that has no
   * meaning inside an expression (`input`, `output`, `return`, `init`, `freeze`), DLM0012 for a
   * branch that ends without a value; a body the parser could not read was already reported.
   */
  branch(n: CstNode | undefined): { stmts: A.Stmt[]; value: A.Expr } {
    if (!n) return { stmts: [], value: this.#missing() };
    const stmts = this.body(n);
    for (const s of stmts) this.#exprBranchStmt(s);
    const last = stmts.at(-1);
    const value = last && this.#branchValue(last);
    if (value) return { stmts: stmts.slice(0, -1), value };
    const close = this.nodeSpan(n);
    const at = last?.span ?? close;
    // A body cut short by a syntax error has its error already; an empty or valueless one has not.
    if (toks(n, "RCurly").length > 0 && !recovered(n)) {
      const found = !last
        ? "an empty branch"
        : last.kind === "if"
        ? "an 'if' without an 'else'"
        : last.kind === "assign"
        ? "an assignment"
        : `a '${STMT_WORDS[last.kind]}' statement`;
      this.#error(...diag("DLM0012", found), at);
    }
    return { stmts, value: { kind: "name", name: MISSING, span: at } };
  }

  /** DLM0011 for a statement an `if` expression's branch cannot hold (nested bodies included). */
  #exprBranchStmt(s: A.Stmt): void {
    switch (s.kind) {
      case "input":
      case "output":
      case "return":
      case "init":
      case "freeze":
        this.#error(...diag("DLM0011", STMT_WORDS[s.kind]), s.span);
        return;
      case "if":
        s.then.forEach((t) => this.#exprBranchStmt(t));
        s.else?.forEach((t) => this.#exprBranchStmt(t));
        return;
      case "for":
        s.body.forEach((t) => this.#exprBranchStmt(t));
        return;
    }
  }

  /** The value a branch's last statement gives, if it gives one. */
  #branchValue(s: A.Stmt): A.Expr | undefined {
    if (s.kind === "expr") return s.expr;
    if (s.kind !== "if" || !s.else) return undefined;
    const then = this.#stmtsValue(s.then);
    const otherwise = this.#stmtsValue(s.else);
    if (!then || !otherwise) return undefined;
    return {
      kind: "ifexpr",
      cond: s.cond,
      thenBody: then.stmts,
      then: then.value,
      elseBody: otherwise.stmts,
      else: otherwise.value,
      span: s.span,
    };
  }

  #stmtsValue(stmts: A.Stmt[]): { stmts: A.Stmt[]; value: A.Expr } | undefined {
    const last = stmts.at(-1);
    const value = last && this.#branchValue(last);
    return value && { stmts: stmts.slice(0, -1), value };
  }

  // ---- strings

  /**
   * The parts of a string literal: text with escapes decoded, and the
   * expression of each `${...}`, parsed where it stands in the file.
   */
  stringParts(t: IToken): (string | A.Expr)[] {
    const raw = t.image;
    const unterminated = isUnterminated(t);
    const body = raw.slice(1, unterminated ? raw.length : raw.length - 1);
    // Column and offset of body[0] in the file (a string is on one line).
    const col0 = (t.startColumn ?? 1) + 1;
    const off0 = t.startOffset + 1;
    const line = t.startLine ?? 1;
    const parts: (string | A.Expr)[] = [];
    let text = "";
    let i = 0;
    while (i < body.length) {
      const c = body[i];
      if (c === "\\") {
        const e = body[i + 1];
        const decoded = ESCAPES[e];
        if (decoded === undefined) {
          const col = col0 + i;
          this.#error(
            ...diag("DLM0009", e ?? ""),
            { file: this.#file, line, col, endLine: line, endCol: col + 2 },
          );
          text += e ?? "";
        } else text += decoded;
        i += 2;
        continue;
      }
      if (c === "$" && body[i + 1] === "{" && !unterminated) {
        const close = interpolationEnd(body, i + 2);
        if (close >= 0) {
          if (text) parts.push(text);
          text = "";
          parts.push(this.interpolation(
            body.slice(i + 2, close),
            { offset: off0 + i + 2, line, col: col0 + i + 2 },
            { file: this.#file, line, col: col0 + i, endLine: line, endCol: col0 + close + 1 },
            stringDepth(t) + 1,
          ));
          i = close + 1;
          continue;
        }
      }
      text += c;
      i++;
    }
    if (text || parts.length === 0) parts.push(text);
    return parts;
  }

  /**
   * Lex and parse the body of one `${...}`; `whole` is the span of `${...}`, `depth` the nesting
   * level it starts at (its string's, plus one).
   */
  interpolation(
    source: string,
    origin: { offset: number; line: number; col: number },
    whole: Span,
    depth: number,
  ): A.Expr {
    if (this.#strings >= MAX_STRING_NESTING) {
      this.diagnostics.push(syntaxError(...diag("DLM0153", MAX_STRING_NESTING), whole));
      return { kind: "name", name: MISSING, span: whole };
    }
    this.#strings++;
    try {
      return this.#interpolation(source, origin, whole, depth);
    } finally {
      this.#strings--;
    }
  }

  #interpolation(
    source: string,
    origin: { offset: number; line: number; col: number },
    whole: Span,
    depth: number,
  ): A.Expr {
    const { tokens, diagnostics } = lex(source, this.#file, origin);
    for (const d of diagnostics) this.diagnostics.push(d);
    if (tokens.length === 0) {
      this.#error(...diag("DLM0002", "an expression inside '${}'", "nothing"), whole);
      return { kind: "name", name: MISSING, span: whole };
    }
    const { result: cst, errors, stop } = parseExpr(tokens, { depth });
    const endCol = whole.endCol - 1;
    const eof = { file: this.#file, line: whole.line, col: endCol, endLine: whole.line, endCol };
    eof.endCol++;
    for (const d of syntaxDiagnostics(errors, this.#file, eof)) this.diagnostics.push(d);
    if (stop) {
      const span = this.tokenSpan(stop.token);
      this.diagnostics.push(
        stop.why === "nesting"
          ? nestingError(span)
          : syntaxError(...diag("DLM0150", MAX_SYNTAX_ERRORS), span),
      );
    }
    return cst
      ? this.exprOrMissing(node(cst, "expr"))
      : { kind: "name", name: MISSING, span: whole };
  }

  /** A string that must not interpolate (an import path, a glob). */
  plainString(t: IToken, what: string): string {
    const parts = this.stringParts(t);
    if (parts.some((p) => typeof p !== "string")) {
      this.#error(...diag("DLM0010", what), this.tokenSpan(t));
    }
    return parts.filter((p): p is string => typeof p === "string").join("");
  }
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  n: "\n",
  t: "\t",
  $: "$",
};

/**
 * From the start of `a` to the end of `b`. Written as a hull (earliest start,
 * latest end) because a part left out by a syntax error is placed wherever
 * the visitor last was, which may be outside the other part.
 */
export function join(a: Span, b: Span): Span {
  const [first, last] = before(b.line, b.col, a.line, a.col) ? [b, a] : [a, b];
  const end = before(first.endLine, first.endCol, last.endLine, last.endCol) ? last : first;
  return {
    file: a.file,
    line: first.line,
    col: first.col,
    endLine: end.endLine,
    endCol: end.endCol,
  };
}

function before(l1: number, c1: number, l2: number, c2: number): boolean {
  return l1 < l2 || (l1 === l2 && c1 < c2);
}
