/**
 * Expressions: literals, names (the scope, then blocks, built-ins,
 * initialisers, with "did you mean" for an unknown one), tuples, ranges,
 * pipes and labels; operators, indexing and calls are the layers below
 * and above.
 */
import { diag, renameFix } from "../../diagnostics.ts";
import { StatementElab } from "./statements.ts";
import type * as A from "../../syntax/ast.ts";
import type { Span } from "../../ir/graph.ts";
import { COMPILE_FNS, FUNCTIONS, INIT_FNS, LAYERS, predefinedNames } from "../names.ts";
import { LIMITS } from "../limits.ts";
import { describe, ERROR, type Instance, Scope, show, type Value } from "../values.ts";
import { closest } from "../suggest.ts";
import { isDottedName } from "../glob.ts";

/** Expressions to values; names to what they are bound to. */
export abstract class ExpressionElab extends StatementElab {
  /** Right-hand sides may carry a label: `let c = conv1: conv2d(64)(x)`. */
  evalRhs(e: A.Expr, scope: Scope): Value {
    return this.eval(e, scope);
  }

  eval(e: A.Expr, scope: Scope): Value {
    const facts = this.opts.facts;
    if (!facts) return this.evalExpr(e, scope);
    const from = facts.params.length;
    const v = this.evalExpr(e, scope);
    facts.record(e.span, v, from);
    return v;
  }

  evalExpr(e: A.Expr, scope: Scope): Value {
    switch (e.kind) {
      case "num":
        return e.isInt ? { k: "int", v: e.value } : { k: "float", v: e.value };
      case "str": {
        let s = "";
        for (const p of e.parts) {
          if (typeof p === "string") s += p;
          else {
            const v = this.eval(p, scope);
            if (v.k === "error") return ERROR;
            s += show(v);
          }
        }
        return { k: "str", v: s };
      }
      case "bool":
        return { k: "bool", v: e.value };
      case "name":
        return this.lookup(e.name, scope, e.span);
      case "tuple":
      case "list": {
        const items = e.items.map((x) => this.eval(x, scope));
        if (items.some((x) => x.k === "error")) return ERROR;
        return { k: e.kind, items };
      }
      case "unary":
        return this.unary(e, this.eval(e.operand, scope));
      case "binary": {
        // A long chain (x + x + ... + x) is a deep left spine: evaluated in a loop from its
        // innermost operation out, left operand before right as the recursion would.
        const spine: A.BinaryExpr[] = [];
        let left: A.Expr = e;
        for (; left.kind === "binary"; left = left.left) spine.push(left);
        let v = this.eval(left, scope);
        for (let i = spine.length - 1; i >= 0; i--) {
          const b = spine[i];
          // && and || do not evaluate their right operand when the left decides.
          if (v.k === "bool" && ((b.op === "&&" && !v.v) || (b.op === "||" && v.v))) continue;
          v = this.binary(b, v, this.eval(b.right, scope));
        }
        return v;
      }
      case "call":
        return this.evalCall(e, scope);
      case "index":
        return this.index(e, scope);
      case "member":
        return this.member(e, scope);
      case "pipe": {
        let v = this.eval(e.head, scope);
        for (const st of e.stages) {
          if (v.k === "error") return ERROR;
          v = this.applyStage(v, st, scope);
        }
        return v;
      }
      case "labeled": {
        const label = this.evalLabel(e.label, scope);
        if (label === undefined) return ERROR;
        if (e.value.kind === "group") {
          const inst: Instance = {
            kind: "seq",
            name: "seq",
            span: e.value.span,
            group: e.value,
            scope,
          };
          this.nameInstance(inst, label, e.label.span);
          return { k: "layer", inst };
        }
        if (e.value.kind === "call") {
          return this.evalCall(e.value, scope, { label, labelSpan: e.label.span });
        }
        const v = this.eval(e.value, scope);
        if (v.k === "layer" && v.inst.prefix === undefined) {
          this.nameInstance(v.inst, label, e.label.span);
          return v;
        }
        if (v.k === "layerdef" || v.k === "blockdef") {
          return this.callValue(v, [], e.span, { label, labelSpan: e.label.span });
        }
        if (v.k === "error") return v;
        return this.err(...diag("DLM0240", label, describe(v)), e.label.span);
      }
      case "ifexpr": {
        const c = this.condition(this.eval(e.cond, scope), e.cond.span);
        if (c === undefined) return ERROR;
        // The branch taken runs its statements in a scope of its own, then gives its value.
        const body = c ? e.thenBody : e.elseBody;
        if (body.length === 0) return this.eval(c ? e.then : e.else, scope);
        const inner = scope.nested();
        this.execBody(body, inner, { model: false });
        return this.eval(c ? e.then : e.else, inner);
      }
      case "sharing":
        return this.sharingLayer(e, scope);
      case "range": {
        const a = this.eval(e.start, scope);
        const b = this.eval(e.end, scope);
        if (a.k === "error" || b.k === "error") return ERROR;
        if (a.k !== "int" || b.k !== "int") {
          return this.err(
            ...diag(
              "DLM0236",
              "The bounds of a range",
              "ints",
              `${describe(a)} and ${describe(b)}`,
            ),
            e.span,
          );
        }
        const end = e.inclusive ? b.v + 1 : b.v;
        const n = Math.max(0, end - a.v);
        if (n > LIMITS.rangeLength) {
          return this.err(
            ...diag(
              "DLM0312",
              `Range ${a.v}..${b.v}`,
              n.toLocaleString("en-US"),
              LIMITS.rangeLength.toLocaleString("en-US"),
            ),
            e.span,
          );
        }
        return {
          k: "list",
          items: Array.from({ length: n }, (_, i) => ({ k: "int", v: a.v + i })),
        };
      }
    }
  }

  /** What a call or a pipe stage calls: a bare name is looked up passing over settings. */
  evalCallee(e: A.Expr, scope: Scope): Value {
    return e.kind === "name" ? this.lookup(e.name, scope, e.span, true) : this.eval(e, scope);
  }

  /**
   * What `name` is bound to: the scope, then blocks, built-ins and initialisers. For a
   * `callee`, a setting of the scope does not count unless nothing else has its name.
   */
  lookup(name: string, scope: Scope, span: Span, callee = false): Value {
    const v = callee ? scope.lookupCallee(name) : scope.lookup(name);
    if (v !== undefined) return v;
    const block = this.program.blocks.get(name);
    if (block) return { k: "blockdef", decl: block };
    if (name in LAYERS) return { k: "layerdef", name };
    if (name in FUNCTIONS || name in COMPILE_FNS) return { k: "fn", name };
    if (INIT_FNS.has(name)) return { k: "initfn", name };
    const setting = callee ? scope.lookup(name) : undefined;
    if (setting !== undefined) return setting;
    if (this.program.models.has(name)) {
      return this.err(...diag("DLM0224", name), span);
    }
    const near = closest(name, knownNames(scope, this.program.blocks.keys()));
    return this.err(
      ...diag("DLM0101", name, near ? `; did you mean '${near}'?` : ""),
      span,
      undefined,
      near && span ? renameFix(span, near) : undefined,
    );
  }

  evalLabel(l: A.Label, scope: Scope): string | undefined {
    let s = "";
    for (const p of l.parts) {
      if (typeof p === "string") s += p;
      else {
        const v = this.eval(p, scope);
        if (v.k === "error") return undefined;
        s += show(v);
      }
    }
    if (s !== "_" && !isDottedName(s)) {
      this.err(...diag("DLM0111", s), l.span);
      return undefined;
    }
    return s;
  }
}

/** The names "did you mean" considers, the innermost scope first (lazily). */
function* knownNames(s: Scope, blocks: Iterable<string>): Generator<string> {
  for (let c: Scope | undefined = s; c; c = c.parent) yield* c.vars.keys();
  yield* blocks;
  yield* predefinedNames();
}
