/**
 * The symbol index of a file's AST: where each name is defined (blocks,
 * models, constants, parameters, inputs, lets, loop variables, labels) and
 * where each name is used, resolved the way the elaborator's scopes resolve
 * them — a use inside a block or model sees the definitions of that body
 * made before it, then its parameters, then the program's top-level names.
 * Built from the AST alone, so a file with syntax errors still gets its
 * symbols for the parts that parsed.
 */
import type * as A from "../syntax/ast.ts";
import type { Span } from "../ir/graph.ts";

export type SymbolKind =
  | "block"
  | "model"
  | "const"
  | "train"
  | "param"
  | "input"
  | "let"
  | "output"
  | "loop"
  | "label";

/** A definition: its name, the span of the name, what it is, and its enclosing declaration. */
export interface Def {
  name: string;
  kind: SymbolKind;
  span: Span;
  /** The whole declaration or statement. */
  full: Span;
  /** The enclosing top-level declaration's name (undefined for top-level ones). */
  container?: string;
  /** The node defined, for signatures. */
  decl?: A.BlockDecl | A.ModelDecl | A.ConstDecl | A.TrainDecl;
}

/** A use of a name: `def` is its local definition, when it has one in this file. */
export interface Use {
  name: string;
  span: Span;
  def?: Def;
  /** Used as the callee of a call or a pipe stage. */
  callee: boolean;
}

export interface FileIndex {
  path: string;
  defs: Def[];
  uses: Use[];
  /** Each pipe stage, for inlay hints. */
  stages: A.PipeStage[];
  /** Each call, for signature help and named arguments. */
  calls: A.CallExpr[];
  imports: A.ImportDecl[];
}

/** Where `name` is written inside `span` of `text` (a loop variable, a destructured name). */
export function findName(lines: string[], span: Span, name: string): Span | undefined {
  const re = new RegExp(`(?<![A-Za-z0-9_])${name}(?![A-Za-z0-9_])`);
  for (let l = span.line; l <= span.endLine && l <= lines.length; l++) {
    const text = lines[l - 1];
    const from = l === span.line ? span.col - 1 : 0;
    const m = re.exec(text.slice(from));
    if (m) {
      const col = from + m.index + 1;
      return { file: span.file, line: l, col, endLine: l, endCol: col + name.length };
    }
  }
  return undefined;
}

/** The span of a parameter's name (a Param's span starts at its name). */
function paramNameSpan(p: A.Param): Span {
  return { ...p.span, endLine: p.span.line, endCol: p.span.col + p.name.length };
}

function isNode(x: unknown): x is { kind?: string; span: Span } {
  return typeof x === "object" && x !== null && "span" in x;
}

/** Index one parsed file. `lines` is its text split into lines. */
export function indexFile(file: A.SourceFile, lines: string[]): FileIndex {
  const defs: Def[] = [];
  const uses: Use[] = [];
  const stages: A.PipeStage[] = [];
  const calls: A.CallExpr[] = [];
  const imports: A.ImportDecl[] = [];

  for (const d of file.decls) {
    if (d.kind === "import") {
      imports.push(d);
      continue;
    }
    if (d.kind === "block" || d.kind === "model" || d.kind === "const") {
      defs.push({ name: d.name, kind: d.kind, span: d.nameSpan, full: d.span, decl: d });
    } else if (d.kind === "train") {
      defs.push({ name: d.model, kind: "train", span: d.nameSpan, full: d.span, decl: d });
    }
  }

  for (const d of file.decls) {
    if (d.kind === "import") continue;
    const container = d.kind === "train" ? `train ${d.model}` : d.name;
    // Scopes: a stack of maps, innermost last; a body's statements add to the innermost.
    const scopes: Map<string, Def>[] = [new Map()];
    const define = (name: string, kind: SymbolKind, span: Span, full: Span) => {
      const def: Def = { name, kind, span, full, container };
      defs.push(def);
      scopes[scopes.length - 1].set(name, def);
      return def;
    };
    const lookup = (name: string): Def | undefined => {
      for (let i = scopes.length - 1; i >= 0; i--) {
        const f = scopes[i].get(name);
        if (f) return f;
      }
      return undefined;
    };
    const use = (name: string, span: Span, callee = false) => {
      uses.push({ name, span, def: lookup(name), callee });
    };

    const label = (l: A.Label) => {
      if (l.parts.length === 1 && typeof l.parts[0] === "string") {
        defs.push({ name: l.parts[0], kind: "label", span: l.span, full: l.span, container });
      }
      for (const p of l.parts) if (typeof p !== "string") expr(p);
    };
    const stage = (st: A.PipeStage) => {
      stages.push(st);
      if (st.label) label(st.label);
      const t = st.target;
      if (t.kind === "group") t.stages.forEach(stage);
      else if (t.kind === "name") use(t.name, t.span, true);
      else expr(t);
    };
    const expr = (e: A.Expr | A.PipeGroup | A.SliceExpr | A.DimExpr | undefined): void => {
      if (!e) return;
      switch (e.kind) {
        case "name":
          use(e.name, e.span);
          return;
        case "call":
          calls.push(e);
          if (e.callee.kind === "name") use(e.callee.name, e.callee.span, true);
          else expr(e.callee);
          for (const a of e.args) expr(a.value);
          return;
        case "pipe":
          expr(e.head);
          e.stages.forEach(stage);
          return;
        case "group":
          e.stages.forEach(stage);
          return;
        case "labeled":
          label(e.label);
          expr(e.value);
          return;
        case "member":
          expr(e.target);
          return;
        case "ifexpr":
          expr(e.cond);
          scopes.push(new Map());
          body(e.thenBody);
          expr(e.then);
          scopes.pop();
          scopes.push(new Map());
          body(e.elseBody);
          expr(e.else);
          scopes.pop();
          return;
        default:
          // Every other node: its children, whatever they are called.
          for (const v of Object.values(e)) {
            if (Array.isArray(v)) {
              for (const x of v) if (isNode(x) && "kind" in x) expr(x as A.Expr);
            } else if (isNode(v) && "kind" in v) expr(v as A.Expr);
          }
      }
    };
    const type = (t: A.TypeExpr | undefined) => {
      if (!t) return;
      if (t.kind === "tensor_type") { for (const dim of t.dims) expr(dim); }
      else if (t.kind === "tuple_type") t.items.forEach(type);
    };
    const body = (ss: A.Stmt[]) => {
      for (const s of ss) stmt(s);
    };
    const stmt = (s: A.Stmt): void => {
      switch (s.kind) {
        case "input":
          type(s.type);
          define(s.name, "input", s.nameSpan, s.span);
          return;
        case "output":
          type(s.type);
          if (s.value) expr(s.value);
          else use(s.name, s.nameSpan);
          defs.push({ name: s.name, kind: "output", span: s.nameSpan, full: s.span, container });
          return;
        case "let": {
          type(s.type);
          expr(s.value);
          if (s.destructure) {
            for (const n of s.names) {
              define(n, "let", findName(lines, s.nameSpan, n) ?? s.nameSpan, s.span);
            }
          } else define(s.names[0], "let", s.nameSpan, s.span);
          return;
        }
        case "assign":
          expr(s.value);
          use(s.name, s.nameSpan);
          return;
        case "return":
        case "expr":
          expr(s.kind === "return" ? s.value : s.expr);
          return;
        case "if":
          expr(s.cond);
          scopes.push(new Map());
          body(s.then);
          scopes.pop();
          if (s.else) {
            scopes.push(new Map());
            body(s.else);
            scopes.pop();
          }
          return;
        case "for": {
          expr(s.iter);
          scopes.push(new Map());
          for (const n of s.names) {
            const at = findName(lines, s.span, n);
            if (at) define(n, "loop", at, s.span);
          }
          body(s.body);
          scopes.pop();
          return;
        }
        case "init":
          expr(s.value);
          return;
        case "copy":
        case "freeze":
          return;
      }
    };

    if (d.kind === "block") {
      for (const p of [...d.config, ...d.inputs]) {
        if (p.default) expr(p.default);
        type(p.type);
        define(p.name, "param", paramNameSpan(p), p.span);
      }
      type(d.returnType);
      body(d.body);
    } else if (d.kind === "model") {
      for (const p of d.params) {
        if (p.default) expr(p.default);
        type(p.type);
        define(p.name, "param", paramNameSpan(p), p.span);
      }
      if (d.base) use(d.base.name, d.base.span);
      for (const w of d.with ?? []) expr(w);
      if (!d.base) body(d.body);
    } else if (d.kind === "train") {
      for (const w of d.with) expr(w);
      body(d.body);
    } else {
      type(d.type);
      expr(d.value);
    }
  }
  return { path: file.path, defs, uses, stages, calls, imports };
}

/** Whether `span` contains the 1-based position line:col (its end included, as editors place a caret). */
export function contains(span: Span, line: number, col: number): boolean {
  if (line < span.line || line > span.endLine) return false;
  if (line === span.line && col < span.col) return false;
  if (line === span.endLine && col > span.endCol) return false;
  return true;
}

/** Smaller first: by lines, then by columns. */
export function spanSize(s: Span): number {
  return (s.endLine - s.line) * 100000 + (s.endCol - s.col);
}
