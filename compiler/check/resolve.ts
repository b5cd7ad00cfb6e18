/**
 * Name resolution over every declaration, called or not, and over both
 * branches of every `if`: each name must be bound where it is used. The
 * elaborator only sees the code it runs, so without this pass a typo in an
 * unused block, in a branch not taken, or after an earlier error would go
 * unreported. Names inside tensor types that are not bound are symbolic
 * dims, not errors.
 */
import type * as A from "../syntax/ast.ts";
import {
  CODES,
  declareFix,
  diag,
  type Diagnostic,
  error,
  renameFix,
  withFix,
} from "../diagnostics.ts";
import type { Program } from "./program.ts";
import { COMPILE_FNS, FUNCTIONS, isSymbolName, LAYERS, predefinedNames } from "./names.ts";
import { Suggester } from "./suggest.ts";

class Names {
  readonly names = new Set<string>();
  constructor(readonly parent?: Names) {}
  has(n: string): boolean {
    return this.names.has(n) || (this.parent?.has(n) ?? false);
  }
  /** Every name in scope, the innermost first (lazily: a search may stop early). */
  *all(): Generator<string> {
    yield* this.names;
    if (this.parent) yield* this.parent.all();
  }
  child(): Names {
    return new Names(this);
  }
}

export function resolveNames(p: Program): Diagnostic[] {
  const diags: Diagnostic[] = [];
  const global = new Names();
  for (const n of predefinedNames()) global.names.add(n);
  for (const b of p.blocks.keys()) global.names.add(b);
  for (const m of p.models.keys()) global.names.add(m);
  const r = new Resolver(diags);
  // Constants see the constants declared before them.
  for (const c of p.consts) {
    r.expr(c.value, global);
    global.names.add(c.name);
  }
  for (const f of p.files) {
    for (const d of f.decls) {
      // The methods of a derived model or a train section see the globals and the model's
      // parameters (`with subspace(d: d)`, d set by --set); a derived model's body is its
      // base's, resolved there.
      const withParams = (m: { params: { name: string }[] } | undefined) => {
        const s = global.child();
        for (const prm of m?.params ?? []) s.names.add(prm.name);
        return s;
      };
      if (d.kind === "model" && d.base) {
        const s = withParams(p.models.get(d.name));
        for (const w of d.with ?? []) r.expr(w, s);
      } else if (d.kind === "train") {
        const s = withParams(p.models.get(d.model));
        for (const w of d.with) r.expr(w, s);
      } else if (d.kind === "model") {
        const s = global.child();
        for (const prm of d.params) {
          if (prm.default) r.expr(prm.default, s);
          r.shadowCheck(prm.name, prm.span);
          s.names.add(prm.name);
        }
        r.body(d.body, s);
      } else if (d.kind === "block") {
        const s = global.child();
        for (const prm of d.config) {
          if (prm.default) r.expr(prm.default, s);
          r.shadowCheck(prm.name, prm.span);
          s.names.add(prm.name);
        }
        for (const prm of d.inputs) {
          if (prm.type) r.typeBinding(prm.type, s);
          r.shadowCheck(prm.name, prm.span);
          s.names.add(prm.name);
        }
        if (d.returnType) r.typeUse(d.returnType, s);
        r.body(d.body, s);
      }
    }
  }
  return diags;
}

class Resolver {
  readonly suggest = new Suggester();
  constructor(readonly diags: Diagnostic[]) {}

  /** A parameter or binding named like a built-in hides it in its scope: say so, once per place. */
  shadowCheck(name: string, span: A.NameExpr["span"]): void {
    if (!(name in LAYERS || name in FUNCTIONS || name in COMPILE_FNS)) return;
    const [code, message] = diag("DLM0109", name);
    this.diags.push({ code, severity: CODES[code].category, message, span });
  }

  body(stmts: A.Stmt[], s: Names): void {
    // init targets and values are hoisted by the elaborator; resolve them first.
    for (const st of stmts) if (st.kind === "init") this.expr(st.value, s);
    for (const st of stmts) this.stmt(st, s);
  }

  stmt(st: A.Stmt, s: Names): void {
    switch (st.kind) {
      case "input":
        // The stage's expression sees what comes before the input, not the input itself.
        if (st.source) this.expr(st.source, s);
        this.typeBinding(st.type, s);
        s.names.add(st.name);
        return;
      case "output":
        if (st.value) this.expr(st.value, s);
        else if (!s.has(st.name)) this.unknown(st.name, st.nameSpan, s);
        if (st.type) this.typeBinding(st.type, s);
        s.names.add(st.name);
        return;
      case "let":
        this.expr(st.value, s);
        if (st.type) this.typeBinding(st.type, s);
        for (const n of st.names) {
          this.shadowCheck(n, st.nameSpan);
          s.names.add(n);
        }
        return;
      case "assign":
        this.expr(st.value, s);
        if (!s.has(st.name)) {
          this.diags.push(
            withFix(
              error(...diag("DLM0107", st.name), st.nameSpan),
              declareFix(st.nameSpan, st.name),
            ),
          );
          s.names.add(st.name);
        }
        return;
      case "return":
      case "expr":
        this.expr(st.kind === "return" ? st.value : st.expr, s);
        return;
      case "if":
        this.expr(st.cond, s);
        this.body(st.then, s.child());
        if (st.else) this.body(st.else, s.child());
        return;
      case "for": {
        this.expr(st.iter, s);
        const inner = s.child();
        for (const n of st.names) inner.names.add(n);
        this.body(st.body, inner);
        return;
      }
      case "init":
      case "copy":
      case "freeze":
        return;
    }
  }

  /** A type whose unbound dim names become bound (inputs, block parameters, declared lets). */
  typeBinding(t: A.TypeExpr, s: Names): void {
    if (t.kind === "tuple_type") return t.items.forEach((x) => this.typeBinding(x, s));
    if (t.kind !== "tensor_type") return;
    for (const d of t.dims) {
      if (d.kind === "dim_any" || d.kind === "dim_rest") continue;
      if (d.kind === "name" && isSymbolName(d.name)) {
        s.names.add(d.name);
        continue;
      }
      this.expr(d, s);
    }
  }

  /** A type in a use position (a return type): names must be bound or are fresh symbols. */
  typeUse(t: A.TypeExpr, s: Names): void {
    if (t.kind === "tuple_type") return t.items.forEach((x) => this.typeUse(x, s));
    if (t.kind !== "tensor_type") return;
    for (const d of t.dims) {
      if (d.kind === "dim_any" || d.kind === "dim_rest") continue;
      if (d.kind === "name" && isSymbolName(d.name)) continue;
      this.expr(d, s);
    }
  }

  label(l: A.Label, s: Names): void {
    for (const p of l.parts) if (typeof p !== "string") this.expr(p, s);
  }

  stage(st: A.PipeStage, s: Names): void {
    if (st.label) this.label(st.label, s);
    if (st.target.kind === "group") st.target.stages.forEach((x) => this.stage(x, s));
    else this.expr(st.target, s);
  }

  expr(e: A.Expr, s: Names): void {
    switch (e.kind) {
      case "num":
      case "bool":
        return;
      case "str":
        for (const p of e.parts) if (typeof p !== "string") this.expr(p, s);
        return;
      case "name":
        if (!s.has(e.name)) this.unknown(e.name, e.span, s);
        return;
      case "tuple":
      case "list":
        e.items.forEach((x) => this.expr(x, s));
        return;
      case "unary":
        this.expr(e.operand, s);
        return;
      case "binary": {
        // A long chain (x + x + ... + x) is a deep left spine: walked in a loop, not recursion.
        const rights: A.Expr[] = [];
        let left: A.Expr = e;
        for (; left.kind === "binary"; left = left.left) rights.push(left.right);
        this.expr(left, s);
        for (let i = rights.length - 1; i >= 0; i--) this.expr(rights[i], s);
        return;
      }
      case "call":
        this.expr(e.callee, s);
        e.args.forEach((a) => this.expr(a.value, s));
        return;
      case "index":
        this.expr(e.target, s);
        for (const i of e.indices) {
          if (i.kind === "slice") {
            for (const x of [i.start, i.end, i.step]) if (x) this.expr(x, s);
          } else if (i.kind !== "ellipsis") this.expr(i, s);
        }
        return;
      case "member":
        this.expr(e.target, s);
        return;
      case "pipe":
        this.expr(e.head, s);
        e.stages.forEach((x) => this.stage(x, s));
        return;
      case "labeled":
        this.label(e.label, s);
        if (e.value.kind === "group") e.value.stages.forEach((x) => this.stage(x, s));
        else this.expr(e.value, s);
        return;
      case "ifexpr": {
        this.expr(e.cond, s);
        // Each branch is a scope of its own: its statements' names end with it.
        const then = s.child();
        this.body(e.thenBody, then);
        this.expr(e.then, then);
        const otherwise = s.child();
        this.body(e.elseBody, otherwise);
        this.expr(e.else, otherwise);
        return;
      }
      case "range":
        this.expr(e.start, s);
        this.expr(e.end, s);
        return;
      case "sharing":
        this.expr(e.layer, s);
        this.expr(e.source, s);
        return;
    }
  }

  unknown(name: string, span: A.NameExpr["span"], s: Names): void {
    if (name === "<missing>") return; // the parser already reported it
    const near = this.suggest.closest(name, s.all());
    this.diags.push(
      withFix(
        error(...diag("DLM0101", name, near ? `; did you mean '${near}'?` : ""), span),
        near ? renameFix(span, near) : undefined,
      ),
    );
  }
}
