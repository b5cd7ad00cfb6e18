/**
 * Types in .dlm: a model input's tensor type (capitalised unbound names
 * become symbolic dims), and the check of a value against a declared type
 * (binding a block parameter's dim names to the actual dims).
 */
import { big, ElabCore } from "./core.ts";
import type * as A from "../../syntax/ast.ts";
import { diag, type Fix } from "../../diagnostics.ts";
import { type Dim, formatType, type Span, type TensorType } from "../../ir/graph.ts";
import { type DType, numel, TENSOR_DTYPES } from "../../ir/tensor.ts";
import type { ArgType } from "../signature.ts";
import { isSymbolName } from "../names.ts";
import { LIMITS } from "../limits.ts";
import { describe, dimValue, isNumber, Scope, type Value } from "../values.ts";

const DTYPES = new Set<string>(TENSOR_DTYPES);

/** Declared types: model inputs, and the checks of `x: f32[N, C, H, W]` annotations. */
export abstract class TypeElab extends ElabCore {
  /** The type of a model input: unbound capitalised or unknown names become symbolic dims. */
  evalInputType(te: A.TensorTypeExpr, scope: Scope): TensorType | undefined {
    if (!DTYPES.has(te.dtype)) {
      this.err(...diag("DLM0007", te.dtype, [...DTYPES].join(", ")), te.span);
      return undefined;
    }
    const shape: Dim[] = [];
    for (const d of te.dims) {
      if (d.kind === "dim_any" || d.kind === "dim_rest") {
        this.err(...diag("DLM0121"), d.span);
        return undefined;
      }
      if (
        d.kind === "name" && isSymbolName(d.name) && scope.lookup(d.name) === undefined
      ) {
        const fixed = this.opts.dims?.[d.name];
        if (fixed !== undefined) {
          scope.define(d.name, { k: "int", v: fixed });
          shape.push(fixed);
          continue;
        }
        scope.define(d.name, { k: "dim", v: d.name });
        shape.push(d.name);
        continue;
      }
      const v = this.eval(d, scope);
      if (v.k === "int") {
        if (v.v < 0) {
          this.err(...diag("DLM0210", "A dim", "a size >= 0", v.v), d.span);
          return undefined;
        }
        shape.push(v.v);
      } else if (v.k === "dim") shape.push(v.v);
      else {
        if (v.k !== "error") {
          this.err(
            ...diag("DLM0236", "A dim", "an int or a symbolic name", describe(v)),
            d.span,
          );
        }
        return undefined;
      }
    }
    if (
      shape.every((d) => typeof d === "number") && numel(shape as number[]) > LIMITS.tensorElements
    ) {
      this.err(
        ...diag(
          "DLM0303",
          `Input ${te.dtype}[${shape.join(", ")}]`,
          big(numel(shape as number[])),
          big(LIMITS.tensorElements),
        ),
        te.span,
      );
      return undefined;
    }
    return { dtype: te.dtype as DType, shape };
  }

  /**
   * Check `v` against a declared type; with `bind`, unbound dim names become
   * bound to the actual dims (block parameters such as x: f32[N, C, H, W]).
   */
  checkDeclared(
    v: Value,
    te: A.TypeExpr,
    scope: Scope,
    span: Span,
    what = "value",
    bind = true,
    expr?: A.Expr,
  ): boolean {
    if (v.k === "error") return false;
    switch (te.kind) {
      case "scalar_type": {
        const ok = te.name === "tensor"
          ? v.k === "tensor"
          : te.name === "float"
          ? isNumber(v)
          : te.name === "int"
          ? v.k === "int"
          : te.name === "bool"
          ? v.k === "bool"
          : v.k === "str";
        if (!ok) {
          this.err(
            ...diag("DLM0236", what, `${te.name === "int" ? "an" : "a"} ${te.name}`, describe(v)),
            span,
          );
        }
        return ok;
      }
      case "tuple_type": {
        if ((v.k !== "tuple" && v.k !== "list") || v.items.length !== te.items.length) {
          this.err(
            ...diag("DLM0236", what, `a tuple of ${te.items.length}`, describe(v)),
            span,
          );
          return false;
        }
        return te.items.every((t, i) => this.checkDeclared(v.items[i], t, scope, span, what, bind));
      }
      case "tensor_type": {
        if (v.k !== "tensor") {
          this.err(
            ...diag("DLM0236", what, `a tensor ${te.dtype}[...]`, describe(v)),
            span,
          );
          return false;
        }
        const problem = this.matchTensorType(v.t, te, scope, bind);
        if (problem === null) return false;
        if (problem) {
          this.err(
            ...diag("DLM0208", what, typeText(te), formatType(v.t), problem),
            span,
            undefined,
            expr && flattenFix(expr, v.t.shape.length, te),
          );
          return false;
        }
        return true;
      }
    }
  }

  matchTensorType(
    t: TensorType,
    te: A.TensorTypeExpr,
    scope: Scope,
    bind: boolean,
  ): string | undefined | null {
    if (te.dtype !== t.dtype) return `element type ${t.dtype} is not ${te.dtype}`;
    const rest = te.dims.findIndex((d) => d.kind === "dim_rest");
    const pattern = te.dims;
    const r = t.shape.length;
    if (rest < 0 && pattern.length !== r) return `its rank is ${r}, expected ${pattern.length}`;
    if (rest >= 0 && r < pattern.length - 1) {
      return `its rank is ${r}, expected at least ${pattern.length - 1}`;
    }
    for (let i = 0; i < pattern.length; i++) {
      if (i === rest) continue;
      const axis = rest >= 0 && i > rest ? r - (pattern.length - i) : i;
      const d = pattern[i];
      const actual = t.shape[axis];
      if (d.kind === "dim_any" || d.kind === "dim_rest") continue;
      if (
        d.kind === "name" && isSymbolName(d.name) && scope.lookup(d.name) === undefined
      ) {
        if (bind) scope.define(d.name, dimValue(actual));
        continue;
      }
      const v = this.eval(d, scope);
      if (v.k === "error") return null; // the dim expression already reported its error
      const want: Dim | undefined = v.k === "int" ? v.v : v.k === "dim" ? v.v : undefined;
      if (want === undefined) return `dim ${axis} is declared as ${describe(v)}`;
      if (want !== actual) {
        const bound = d.kind === "name" ? ` (${d.name} = ${want})` : "";
        return `dim ${axis} is ${actual}, expected ${want}${bound}`;
      }
    }
    return undefined;
  }
}

/** The argument type a block config parameter declares (`width: int`), for binding. */
export function argTypeOf(te?: A.TypeExpr): ArgType {
  if (!te) return "any";
  if (te.kind === "tensor_type") return "tensor";
  if (te.kind === "tuple_type") return "any";
  switch (te.name) {
    case "int":
      return "int";
    case "float":
      return "number";
    case "bool":
      return "bool";
    case "str":
      return "str";
    default:
      return "tensor";
  }
}

/** An int where a float is declared becomes a float (`let lr: float = 1`). */
export function coerce(v: Value, te?: A.TypeExpr): Value {
  if (te?.kind === "scalar_type" && te.name === "float" && v.k === "int") {
    return { k: "float", v: v.v };
  }
  return v;
}

function typeText(te: A.TensorTypeExpr): string {
  const dims = te.dims.map((d) => {
    if (d.kind === "dim_any") return "_";
    if (d.kind === "dim_rest") return "...";
    if (d.kind === "name") return d.name;
    if (d.kind === "num") return String(d.value);
    return "?";
  });
  return `${te.dtype}[${dims.join(", ")}]`;
}

/**
 * A value declared [N, features] that a pipe ends with `linear(k)` applied to a feature map of
 * higher rank: linear maps the last axis alone, so the value is [N, ..., k]. Flattening before
 * it (flatten() keeps axis 0 and joins the rest) makes linear see [N, C·H·W] and give [N, k],
 * the rank declared: the fix inserts `flatten() |>` before the linear stage.
 */
function flattenFix(expr: A.Expr, rank: number, te: A.TensorTypeExpr): Fix | undefined {
  if (expr.kind !== "pipe" || te.dims.length !== 2 || rank <= 2) return undefined;
  const last = expr.stages.at(-1)!;
  const t = last.target;
  const callee = t.kind === "call" && t.callee.kind === "name" ? t.callee.name : undefined;
  if (callee !== "linear") return undefined;
  // Before the stage's label too (`|> fc: linear(10)`): the label stays on the linear layer.
  const at = last.label?.span ?? t.span;
  return {
    title: "Insert |> flatten() before linear(...)",
    edits: [{ span: { ...at, endLine: at.line, endCol: at.col }, newText: "flatten() |> " }],
  };
}
