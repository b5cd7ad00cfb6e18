/**
 * Operators: on compile-time numbers they compute (with overflow and
 * division-by-zero checks); on tensors they add nodes (`a + b` is Add,
 * `a @ b` MatMul, a number beside a tensor becomes a scalar constant of
 * its dtype).
 */
import { Abort, scalarTensor } from "./core.ts";
import { LIMITS } from "../limits.ts";
import { TypeElab } from "./types.ts";
import type * as A from "../../syntax/ast.ts";
import { diag } from "../../diagnostics.ts";
import { formatType, type Span } from "../../ir/graph.ts";
import { isFloat, tensor as mkTensor } from "../../ir/tensor.ts";
import { describe, equalValues, ERROR, isNumber, type TensorValue, type Value } from "../values.ts";

/** Unary and binary operators on numbers, bools, strings, tuples and tensors. */
export abstract class OperatorElab extends TypeElab {
  unary(e: A.UnaryExpr, v: Value): Value {
    if (v.k === "error") return v;
    if (e.op === "!") {
      if (v.k === "bool") return { k: "bool", v: !v.v };
      if (v.k === "tensor") return this.tensorOp("Not", [v], e.span);
    } else {
      if (isNumber(v)) return { k: v.k, v: e.op === "-" ? -v.v : v.v };
      if (v.k === "tensor") return e.op === "-" ? this.tensorOp("Neg", [v], e.span) : v;
    }
    return this.err(...diag("DLM0237", e.op, describe(v)), e.span);
  }

  binary(e: A.BinaryExpr, l: Value, r: Value): Value {
    if (l.k === "error" || r.k === "error") return ERROR;
    const op = e.op;
    if (l.k === "tensor" || r.k === "tensor") return this.tensorBinary(e, l, r);
    if (isNumber(l) && isNumber(r)) return this.numBinary(e, l, r);
    if (op === "==" || op === "!=") {
      if ((l.k === "dim" || r.k === "dim") && !equalValues(l, r)) {
        if ((l.k === "dim" || l.k === "int") && (r.k === "dim" || r.k === "int")) {
          return this.err(...diag("DLM0309", describe(l), describe(r)), e.span);
        }
      }
      const eq = equalValues(l, r);
      return { k: "bool", v: op === "==" ? eq : !eq };
    }
    if (l.k === "bool" && r.k === "bool" && (op === "&&" || op === "||")) {
      return { k: "bool", v: op === "&&" ? l.v && r.v : l.v || r.v };
    }
    if (l.k === "str" && r.k === "str" && op === "+") return { k: "str", v: l.v + r.v };
    if ((l.k === "tuple" || l.k === "list") && l.k === r.k && op === "+") {
      this.copied += l.items.length + r.items.length;
      if (this.copied > LIMITS.copiedItems) {
        this.err(...diag("DLM0319", LIMITS.copiedItems.toLocaleString("en-US")), e.span);
        throw new Abort();
      }
      return { k: l.k, items: [...l.items, ...r.items] };
    }
    if (l.k === "dim" || r.k === "dim") {
      return this.err(...diag("DLM0310", describe(l), op, describe(r)), e.span);
    }
    return this.err(
      ...diag("DLM0237", op, `${describe(l)} and ${describe(r)}`),
      e.opSpan,
    );
  }

  numBinary(
    e: A.BinaryExpr,
    l: { k: "int" | "float"; v: number },
    r: { k: "int" | "float"; v: number },
  ): Value {
    const ints = l.k === "int" && r.k === "int";
    const a = l.v, b = r.v;
    const n = (v: number): Value => {
      if (ints && Number.isInteger(v)) {
        if (!Number.isSafeInteger(v)) {
          return this.err(...diag("DLM0307", a, e.op, b), e.span);
        }
        return { k: "int", v };
      }
      return { k: "float", v };
    };
    switch (e.op) {
      case "+":
        return n(a + b);
      case "-":
        return n(a - b);
      case "*":
        return n(a * b);
      case "/":
        if (b === 0) return this.err(...diag("DLM0304", a, "/", b), e.span);
        return { k: "float", v: a / b };
      case "%":
        if (b === 0) return this.err(...diag("DLM0304", a, "%", b), e.span);
        return n(a - b * Math.floor(a / b));
      case "**":
        return ints && b >= 0 ? n(a ** b) : { k: "float", v: a ** b };
      case "==":
        return { k: "bool", v: a === b };
      case "!=":
        return { k: "bool", v: a !== b };
      case "<":
        return { k: "bool", v: a < b };
      case "<=":
        return { k: "bool", v: a <= b };
      case ">":
        return { k: "bool", v: a > b };
      case ">=":
        return { k: "bool", v: a >= b };
      default:
        return this.err(...diag("DLM0237", e.op, "numbers"), e.opSpan);
    }
  }

  tensorBinary(e: A.BinaryExpr, l: Value, r: Value): Value {
    const ref = (l.k === "tensor" ? l : r) as TensorValue;
    const lift = (v: Value): TensorValue | undefined => {
      if (v.k === "tensor") return v;
      if (isNumber(v)) {
        if (!isFloat(ref.t.dtype) && !Number.isInteger(v.v)) {
          this.err(
            ...diag(
              "DLM0207",
              `Operator ${e.op} on ${formatType(ref.t)}`,
              "an integer (convert the tensor with cast() first)",
              v.v,
            ),
            e.span,
          );
          return undefined;
        }
        return this.constant(scalarTensor(ref.t.dtype, v.v));
      }
      if (v.k === "bool") return this.constant(mkTensor("bool", [], [v.v ? 1 : 0]));
      return undefined;
    };
    const a = lift(l), b = lift(r);
    if ((!a && isNumber(l)) || (!b && isNumber(r))) return ERROR; // reported by lift
    if (!a || !b) {
      return this.err(
        ...diag("DLM0237", e.op, `${describe(l)} and ${describe(r)}`),
        e.opSpan,
      );
    }
    if (a.t.dtype !== b.t.dtype) {
      // The fix converts one side to the other's dtype: an integer or boolean side to the float
      // one (what arithmetic on them means), else the right side to the left's.
      const castRight = isFloat(a.t.dtype) || !isFloat(b.t.dtype);
      const [side, to] = castRight ? [e.right, a.t.dtype] : [e.left, b.t.dtype];
      const s = side.span;
      return this.err(
        ...diag(
          "DLM0207",
          `Operator ${e.op}`,
          "tensors of one element type",
          `${formatType(a.t)} and ${formatType(b.t)}; convert with cast()`,
        ),
        e.span,
        undefined,
        {
          title: `Convert the ${castRight ? "right" : "left"} side with cast(..., "${to}")`,
          edits: [
            { span: { ...s, endLine: s.line, endCol: s.col }, newText: "cast(" },
            { span: { ...s, line: s.endLine, col: s.endCol }, newText: `, "${to}")` },
          ],
        },
      );
    }
    const OPS: Record<string, string> = {
      "+": "Add",
      "-": "Sub",
      "*": "Mul",
      "/": "Div",
      "**": "Pow",
      "@": "MatMul",
      "%": "Mod",
      "==": "Equal",
      "<": "Less",
      "<=": "LessOrEqual",
      ">": "Greater",
      ">=": "GreaterOrEqual",
      "&&": "And",
      "||": "Or",
    };
    if (e.op === "!=") {
      const eq = this.tensorOp("Equal", [a, b], e.span);
      return eq.k === "tensor" ? this.tensorOp("Not", [eq], e.span) : eq;
    }
    const op = OPS[e.op];
    if (!op) return this.err(...diag("DLM0237", e.op, "tensors"), e.opSpan);
    return this.tensorOp(
      op,
      [a, b],
      e.span,
      op === "Mod" && a.t.dtype.startsWith("f") ? { fmod: 1 } : {},
    );
  }

  tensorOp(op: string, xs: TensorValue[], span: Span, attrs: Record<string, unknown> = {}): Value {
    const r = this.addOp(op, xs.map((x) => x.v), attrs, span);
    return r ? r[0] : ERROR;
  }
}
