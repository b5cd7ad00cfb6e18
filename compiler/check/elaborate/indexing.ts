/**
 * Indexing and members: a tuple or list takes one int index; a tensor
 * takes ints, slices and at most one `...` (one Slice node, then a Squeeze
 * of the int axes);
 * `.shape`, `.rank`, `.dtype`, `.T` on tensors, `.length` on tuples.
 */
import { diag } from "../../diagnostics.ts";
import { OperatorElab } from "./operators.ts";
import type * as A from "../../syntax/ast.ts";
import { type Dim, formatType, type Span } from "../../ir/graph.ts";
import { tensor as mkTensor } from "../../ir/tensor.ts";
import { describe, dimValue, ERROR, Scope, type Value } from "../values.ts";

/** `x[i, a:b:s]` on tuples, lists and tensors, and members such as `x.shape`. */
export abstract class IndexElab extends OperatorElab {
  index(e: A.IndexExpr, scope: Scope): Value {
    const t = this.eval(e.target, scope);
    if (t.k === "error") return t;
    if (t.k === "tuple" || t.k === "list") {
      const only = e.indices[0].kind;
      if (e.indices.length !== 1 || only === "slice" || only === "ellipsis") {
        const got = e.indices.length !== 1
          ? `${e.indices.length} indices`
          : only === "slice"
          ? "a slice"
          : "...";
        return this.err(...diag("DLM0236", `A ${t.k} index`, "one int", got), e.span);
      }
      const i = this.eval(e.indices[0] as A.Expr, scope);
      if (i.k !== "int") {
        return i.k === "error" ? i : this.err(
          ...diag("DLM0236", `A ${t.k} index`, "an int", describe(i)),
          e.indices[0].span,
        );
      }
      const k = i.v < 0 ? t.items.length + i.v : i.v;
      if (k < 0 || k >= t.items.length) {
        return this.err(
          ...diag("DLM0212", i.v, `a ${t.k} of ${t.items.length}`),
          e.indices[0].span,
        );
      }
      return t.items[k];
    }
    if (t.k !== "tensor") return this.err(...diag("DLM0239", describe(t)), e.span);
    const rank = t.t.shape.length;
    // `...` stands for as many full slices as the other items leave axes:
    // x[..., 0] on a rank-3 x is x[:, :, 0]; it may stand for none.
    const dots = e.indices.filter((i) => i.kind === "ellipsis");
    if (dots.length > 1) return this.err(...diag("DLM0255"), dots[1].span);
    const items = e.indices.filter((i) => i.kind !== "ellipsis");
    if (items.length > rank) {
      return this.err(...diag("DLM0226", items.length, formatType(t.t)), e.span);
    }
    const full: A.SliceExpr = { kind: "slice", span: e.span };
    const indices = e.indices.flatMap((i) =>
      i.kind === "ellipsis" ? Array(rank - items.length).fill(full) : [i]
    ) as (A.Expr | A.SliceExpr)[];
    const starts: number[] = [],
      ends: number[] = [],
      axes: number[] = [],
      steps: number[] = [],
      squeeze: number[] = [];
    const intOf = (x: A.Expr | undefined, dflt: number): number | undefined => {
      if (!x) return dflt;
      const v = this.eval(x, scope);
      if (v.k === "int") return v.v;
      if (v.k !== "error") {
        this.err(...diag("DLM0236", "A slice bound", "an int", describe(v)), x.span);
      }
      return undefined;
    };
    for (let ax = 0; ax < indices.length; ax++) {
      const ix = indices[ax];
      if (ix.kind === "slice") {
        const step = intOf(ix.step, 1);
        if (step === undefined) return ERROR;
        if (step === 0) {
          return this.err(...diag("DLM0210", "A slice", "a non-zero step", 0), ix.span);
        }
        const big = 2 ** 53 - 1;
        const s = intOf(ix.start, step > 0 ? 0 : -1);
        const en = intOf(ix.end, step > 0 ? big : -big);
        if (s === undefined || en === undefined) return ERROR;
        if (!ix.start && !ix.end && step === 1) continue;
        if (step > 0) {
          // The shape rule assumes the bounds lie inside a symbolic dim: start and end each
          // within it (|v| for one from the end), and start before end when one counts from each.
          const from = ix.start ? s : 0, to = ix.end ? en : big;
          const least = Math.max(
            Math.abs(from),
            to === big ? 0 : Math.abs(to),
            from >= 0 && to < 0 ? from - to : 0,
          );
          const text = `${ix.start ? s : ""}:${ix.end ? en : ""}${ix.step ? `:${step}` : ""}`;
          this.assumeDim(t.t.shape[ax], least, `the slice ${text} of axis ${ax}`, ix.span);
        }
        starts.push(s), ends.push(en), axes.push(ax), steps.push(step);
      } else {
        const i = intOf(ix, 0);
        if (i === undefined) return ERROR;
        const d = t.t.shape[ax];
        if (typeof d === "number" && (i >= d || i < -d)) {
          return this.err(...diag("DLM0212", i, `dim ${ax} of ${formatType(t.t)}`), ix.span);
        }
        this.assumeDim(d, i < 0 ? -i : i + 1, `the index ${i} of axis ${ax}`, ix.span);
        starts.push(i),
          ends.push(i === -1 ? 2 ** 53 - 1 : i + 1),
          axes.push(ax),
          steps.push(1),
          squeeze.push(ax);
      }
    }
    let v: Value = t;
    if (axes.length) {
      const c = (xs: number[]) => this.constant(mkTensor("i64", [xs.length], xs)).v;
      const r = this.addOp("Slice", [t.v, c(starts), c(ends), c(axes), c(steps)], {}, e.span);
      if (!r) return ERROR;
      v = r[0];
    }
    if (squeeze.length && v.k === "tensor") {
      const r = this.addOp(
        "Squeeze",
        [v.v, this.constant(mkTensor("i64", [squeeze.length], squeeze)).v],
        {},
        e.span,
      );
      if (!r) return ERROR;
      v = r[0];
    }
    return v;
  }

  /**
   * Record that an index assumed the symbolic dim `d` to be at least `least` (`x[0:10]` of
   * `f32[N, 4]` is typed `f32[10, 4]`): the run checks the sizes it binds (runtime/inputs.ts).
   */
  private assumeDim(d: Dim, least: number, what: string, span: Span): void {
    if (typeof d === "number" || least <= 0) return;
    const bounds = this.root.graph.dimBounds ??= [];
    if (bounds.some((b) => b.dim === d && b.min >= least)) return;
    bounds.push({ dim: d, min: least, what, span: this.userSpan(span) });
  }

  member(e: A.MemberExpr, scope: Scope): Value {
    const t = this.eval(e.target, scope);
    if (t.k === "error") return t;
    if (t.k === "tensor") {
      switch (e.name) {
        case "shape":
          return { k: "tuple", items: t.t.shape.map(dimValue) };
        case "rank":
          return { k: "int", v: t.t.shape.length };
        case "dtype":
          return { k: "str", v: t.t.dtype };
        case "T": {
          const r = t.t.shape.length;
          if (r < 2) {
            return this.err(...diag("DLM0213", ".T", -2, formatType(t.t)), e.span);
          }
          const perm = [...Array(r).keys()];
          [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
          const out = this.addOp("Transpose", [t.v], { perm }, e.span);
          return out ? out[0] : ERROR;
        }
      }
      return this.err(
        ...diag("DLM0113", "A tensor", e.name, "; it has shape, rank, dtype and T"),
        e.nameSpan,
      );
    }
    if ((t.k === "tuple" || t.k === "list") && e.name === "length") {
      return { k: "int", v: t.items.length };
    }
    return this.err(...diag("DLM0113", describe(t), e.name, ""), e.nameSpan);
  }
}
