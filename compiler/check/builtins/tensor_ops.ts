/**
 * Built-in tensor operations that attention code needs: reshaping with
 * symbolic dims (`view`), splitting and stacking, broadcasting (`expand`),
 * positions (`arange`), triangular masks, `masked_fill` and gathers.
 *
 * Shapes stay exact when a size is only known at run time: `view` copies a
 * symbolic dim in place (a 0 in Reshape's constant shape) or lets the one
 * `-1` find it, and `arange(T, like: x)` builds the positions 0..T-1 from x
 * itself (a cumulative sum of ones along T), so its type is i64[T], not a
 * fresh unknown dim.
 */
import { diag } from "../../diagnostics.ts";
import { type Dim, formatType } from "../../ir/graph.ts";
import { table, tensor } from "../../ir/tensor.ts";
import { dimDivExact, dimEquals, dimProduct } from "../../ops/dims.ts";
import type { Ctx } from "../context.ts";
import { expandInts, num } from "../signature.ts";
import { describe, ERROR, type TensorValue, type Value } from "../values.ts";
import type { FnDef } from "./functions.ts";
import { i, ints, t, withGraph, X } from "./util.ts";

/** Normalise an axis of a rank-`r` tensor, or report DLM0213 at `argName` and return undefined. */
export function normAxisArg(
  ctx: Ctx,
  axis: number,
  r: number,
  what: string,
  argName = "axis",
): number | undefined {
  if (axis < -r || axis >= Math.max(r, 1)) {
    ctx.error(
      ...diag("DLM0213", `${what}()`, axis, `a tensor of rank ${r}`),
      ctx.argSpan(argName),
    );
    return undefined;
  }
  return axis < 0 ? axis + r : axis;
}

/**
 * The positions 0..d-1 along `axis` of `x` as an i64[d] tensor, where d is
 * x's dim there: a constant when d is a number, otherwise computed from x
 * (reduce x to its 1-D slice along the axis, turn it into ones, take the
 * cumulative sum, subtract 1), which keeps the exact symbolic type i64[d].
 */
export function rangeAlong(ctx: Ctx, x: TensorValue, axis: number): TensorValue | undefined {
  const r = x.t.shape.length;
  const d = x.t.shape[axis];
  if (typeof d === "number") {
    return ctx.constant(table("i64", [d], "positions", (i) => i));
  }
  return withGraph(ctx, (e) => {
    const zero = e.scalar(0, "i64");
    let v = e.tensor(x);
    // Take index 0 of every other axis, last first so the axis numbers stay valid.
    for (let a = r - 1; a >= 0; a--) {
      if (a !== axis) v = v.op("Gather", [zero], { axis: a });
    }
    if (v.dtype !== "i64") v = v.cast("i64");
    // x * 0 + 1 is all ones; their running sum minus 1 counts 0..d-1.
    return v.mul(0).add(1).op("CumSum", [zero]).sub(1);
  });
}

/** Where `d` occurs in `x`'s shape, or -1. */
function findDim(x: TensorValue, d: Dim): number {
  return x.t.shape.findIndex((s) => dimEquals(s, d));
}

/** A shape argument (tuple or list of ints and symbolic dims, or one int) as dims. */
function shapeArg(ctx: Ctx, v: Value, what: string): Dim[] | undefined {
  const items = v.k === "tuple" || v.k === "list" ? v.items : [v];
  const out: Dim[] = [];
  for (const it of items) {
    if (it.k === "int") out.push(it.v);
    else if (it.k === "dim") out.push(it.v);
    else {
      ctx.error(
        ...diag(
          "DLM0201",
          `${what}()`,
          "a shape of ints and symbolic dims",
          `${describe(it)} in it`,
        ),
        ctx.argSpan("shape"),
      );
      return undefined;
    }
  }
  return out;
}

/**
 * view(x, shape): Reshape where the shape may name symbolic dims.
 * A symbolic dim at the same position as in x becomes a 0 (copy), one
 * other symbolic dim or one -1 is inferred, so the shape is a constant and
 * the result type exact. Otherwise the shape is assembled at run time from
 * Shape/Gather/Concat (dims taken from x).
 */
function view(ctx: Ctx, x: TensorValue, target: Dim[]): Value {
  const spec: number[] = [];
  const unresolved: number[] = [];
  let holes = 0;
  for (const [k, d] of target.entries()) {
    if (typeof d === "number") {
      if (d === -1) holes++;
      else if (d <= 0) {
        return ctx.error(
          ...diag(
            "DLM0210",
            "view()",
            "dims that are positive, a symbolic dim or -1",
            `${d} at position ${k}`,
          ),
          ctx.argSpan("shape"),
        );
      }
      spec.push(d);
    } else if (k < x.t.shape.length && dimEquals(x.t.shape[k], d)) spec.push(0);
    else {
      unresolved.push(k);
      spec.push(-1);
    }
  }
  if (holes > 1 || (holes === 1 && unresolved.length > 0) || unresolved.length > 1) {
    if (holes > 1) {
      return ctx.error(
        ...diag("DLM0210", "view()", "at most one -1", `(${target.join(", ")})`),
        ctx.argSpan("shape"),
      );
    }
    return viewAtRunTime(ctx, x, target);
  }
  const r = withGraph(ctx, (e) => e.tensor(x).reshape(spec));
  if (!r) return ERROR;
  if (unresolved.length === 1 && !dimEquals(r.t.shape[unresolved[0]], target[unresolved[0]])) {
    return ctx.error(
      ...diag(
        "DLM0232",
        "view()",
        `turn ${formatType(x.t)} into (${target.join(", ")}): the dims left make ${
          r.t.shape[unresolved[0]]
        }, not ${target[unresolved[0]]}`,
      ),
    );
  }
  return r;
}

/**
 * The shape tensor of a view assembled at run time: each symbolic dim read from x where x has it
 * (Gather(Shape(x), axis)), else from a model input that declares it (`Ctx.dimSource`). The result
 * type is the target exactly, with a -1 read as numel(x) / product(other dims) when the dim algebra
 * divides that exactly: polynomial division, so x: [K * N + 32 * N, 11] views as (N, -1, 11) with
 * the -1 = K + 32, the common factor N taken out. Without a -1 the element counts must agree as
 * polynomials; a difference between polynomials of plain symbols is an error here, as it would be
 * at run time for some sizes (opaque atoms, floor and max, are left to run time).
 */
function viewAtRunTime(ctx: Ctx, x: TensorValue, target: Dim[]): Value {
  const total = dimProduct(x.t.shape);
  const hole = target.indexOf(-1);
  const rest = dimProduct(target.filter((_, k) => k !== hole));
  const shown = `(${target.join(", ")})`;
  const fail = (what: string) =>
    ctx.error(...diag("DLM0232", "view()", what), ctx.argSpan("shape"));
  let filled: Dim | undefined;
  if (hole >= 0) filled = dimDivExact(total, rest);
  else if (!dimEquals(total, rest) && plainPolynomial(total) && plainPolynomial(rest)) {
    return fail(`turn ${formatType(x.t)} (${total} elements) into ${shown} (${rest} elements)`);
  }
  const shape = withGraph(ctx, (e) => e.tensor(x).shape());
  if (!shape) return ERROR;
  const parts: string[] = [];
  for (const [k, d] of target.entries()) {
    if (typeof d === "number") {
      parts.push(ints(ctx, [d]));
      continue;
    }
    const at = findDim(x, d);
    const src = at >= 0 ? undefined : ctx.dimSource(d);
    if (src && (hole >= 0 ? filled === undefined : !dimEquals(total, rest))) {
      // A dim read from another input is trusted only where the algebra proves the sizes fit.
      return fail(
        `turn ${formatType(x.t)} into ${shown}: ${d} is not a dim of the input, and the dim ` +
          `algebra cannot show that the element counts agree (${total} and ${rest}${
            hole >= 0 ? " times the -1" : ""
          })`,
      );
    }
    if (at < 0 && !src) {
      return fail(
        `know the size of ${d} at position ${k}: neither ${
          formatType(x.t)
        } nor a model input has it; use -1 for one dim that is not in the input`,
      );
    }
    const g = withGraph(ctx, (e) =>
      (src ? e.tensor(src.value).shape() : e.tensor(shape))
        .op("Gather", [e.ints([src ? src.axis : at])], { axis: 0 }));
    if (!g) return ERROR;
    parts.push(g.v);
  }
  const r = withGraph(ctx, (e) => e.tensor(x).reshape(e.op1("Concat", parts, { axis: 0 })));
  if (!r) return ERROR;
  if (hole >= 0 && filled === undefined) return r;
  const shapeOut = target.map((d, k) => (k === hole ? filled! : d));
  return ctx.refine(r, { dtype: x.t.dtype, shape: shapeOut });
}

/** A dim that is a polynomial of plain symbols: no floor, max or run-time (`?`) atom. */
function plainPolynomial(d: Dim): boolean {
  return typeof d === "number" || !/[?(]/.test(d);
}

/**
 * torch's `x.expand(shape)`: the shape is aligned with x's at the right; each target dim is
 *   - -1: x's own dim kept (only where x has one),
 *   - x's own dim (an equal int or the same symbolic dim): kept,
 *   - anything else where x's dim is 1, or a new leading dim: the broadcast size.
 * ONNX Expand broadcasts x against a shape tensor where 1 keeps a dim, so a kept dim is 1 in the
 * spec; a symbolic dim x lacks has no constant size and is read at run time, Gather(Shape(src),
 * axis) from x itself when it has it elsewhere, else from a model input that declares it
 * (`Ctx.dimSource`), and the shape is a Concat of those pieces. The result's type is the target
 * exactly, with -1 read as x's dim.
 */
function expand(ctx: Ctx, x: TensorValue, s: Dim[]): Value {
  const rank = x.t.shape.length;
  const off = s.length - rank;
  const fail = (what: string) =>
    ctx.error(...diag("DLM0232", "expand()", what), ctx.argSpan("shape"));
  if (off < 0) {
    return ctx.error(
      ...diag(
        "DLM0203",
        "expand()",
        `a shape of at least rank ${rank} for ${formatType(x.t)}`,
        `(${s.join(", ")})`,
      ),
      ctx.argSpan("shape"),
    );
  }
  /** Each dim of the shape tensor: a constant, or a symbolic dim read at run time. */
  const spec: (number | { from: TensorValue; axis: number })[] = [];
  const result: Dim[] = [];
  for (const [k, d] of s.entries()) {
    const have = k >= off ? x.t.shape[k - off] : undefined;
    if (d === -1) {
      if (have === undefined) {
        return fail(`keep a dim with -1 at position ${k}: ${formatType(x.t)} has no dim there`);
      }
      spec.push(1);
      result.push(have);
    } else if (have !== undefined && dimEquals(have, d)) {
      spec.push(1);
      result.push(have);
    } else if (have !== undefined && have !== 1) {
      return fail(
        `grow dim ${k - off} of ${
          formatType(x.t)
        } from ${have} to ${d}: only a dim of size 1 grows`,
      );
    } else if (typeof d === "number") {
      if (d < 0) return fail(`a size >= 0 or -1 at position ${k}, not ${d}`);
      spec.push(d);
      result.push(d);
    } else {
      const own = findDim(x, d);
      const src = own >= 0 ? { value: x, axis: own } : ctx.dimSource(d);
      if (!src) {
        return fail(
          `know the size of ${d} at position ${k}: neither ${
            formatType(x.t)
          } nor a model input has it`,
        );
      }
      spec.push({ from: src.value, axis: src.axis });
      result.push(d);
    }
  }
  if (spec.every((d) => typeof d === "number")) {
    const r = withGraph(ctx, (e) => e.tensor(x).expand(spec as number[]));
    return r ? ctx.refine(r, { dtype: x.t.dtype, shape: result }) : ERROR;
  }
  const r = withGraph(ctx, (e) => {
    const parts = spec.map((d) =>
      typeof d === "number"
        ? e.ints([d])
        : e.tensor(d.from).shape().op("Gather", [e.ints([d.axis])], { axis: 0 })
    );
    return e.tensor(x).op("Expand", [e.op1("Concat", parts, { axis: 0 })]);
  });
  return r ? ctx.refine(r, { dtype: x.t.dtype, shape: result }) : ERROR;
}

/** Split sizes for `n` equal parts of a known dim (torch.split(x, size) and chunk differ). */
function partSizes(ctx: Ctx, x: TensorValue, axis: number, what: string): number | undefined {
  const d = x.t.shape[axis];
  if (typeof d !== "number") {
    ctx.error(
      ...diag("DLM0203", `${what}() into equal parts`, `a known dim ${axis}`, formatType(x.t)),
    );
    return undefined;
  }
  return d;
}

function splitInto(ctx: Ctx, x: TensorValue, sizes: number[], axis: number): Value {
  const r = ctx.op("Split", [x.v, ints(ctx, sizes)], { axis }, { nOutputs: sizes.length });
  return r ? { k: "tuple", items: r } : ERROR;
}

const defs: FnDef[] = [
  {
    name: "view",
    doc:
      "Reshape to a shape of ints, symbolic dims and at most one -1: view(x, (N, T, heads, -1)). " +
      "The result type is exact: f32[N, T, 8, 64]; a -1 is numel / the other dims by the dim " +
      "algebra (3.5), so f32[K * N + 32 * N, 11] views as (N, -1, 11) to f32[N, K + 32, 11].",
    sig: [X, { name: "shape", type: "any" }],
    apply(ctx, a) {
      const s = shapeArg(ctx, a.shape, "view");
      return s ? view(ctx, t(a.x), s) : ERROR;
    },
  },
  {
    name: "split",
    doc:
      "Split along axis (default -1) into parts of the given sizes, or into n equal parts for an int; " +
      "returns a tuple: let (q, k, v) = split(x, 3).",
    sig: [X, { name: "sizes", type: "ints" }, { name: "axis", type: "int", default: i(-1) }],
    apply(ctx, a) {
      const x = t(a.x);
      const axis = normAxisArg(ctx, num(a.axis), x.t.shape.length, "split");
      if (axis === undefined) return ERROR;
      if (a.sizes.k === "int") {
        const n = a.sizes.v;
        const d = partSizes(ctx, x, axis, "split");
        if (d === undefined) return ERROR;
        if (n <= 0 || d % n !== 0) {
          return ctx.error(
            ...diag("DLM0210", `split() into ${n} equal parts`, `dim ${axis} divisible by ${n}`, d),
            ctx.argSpan("sizes"),
          );
        }
        return splitInto(ctx, x, Array(n).fill(d / n), axis);
      }
      const sizes = expandInts(a.sizes, 1);
      if (sizes.some((s) => s <= 0)) {
        return ctx.error(
          ...diag("DLM0210", "split()", "positive sizes", `(${sizes.join(", ")})`),
          ctx.argSpan("sizes"),
        );
      }
      return splitInto(ctx, x, sizes, axis);
    },
  },
  {
    name: "chunk",
    doc:
      "Split into n chunks along axis (default -1) as torch.chunk: each ceil(d / n) long, the last may be shorter.",
    sig: [X, { name: "n", type: "int" }, { name: "axis", type: "int", default: i(-1) }],
    apply(ctx, a) {
      const x = t(a.x);
      const axis = normAxisArg(ctx, num(a.axis), x.t.shape.length, "chunk");
      if (axis === undefined) return ERROR;
      const n = num(a.n);
      if (n <= 0) {
        return ctx.error(...diag("DLM0210", "chunk()", "n >= 1", n), ctx.argSpan("n"));
      }
      const d = partSizes(ctx, x, axis, "chunk");
      if (d === undefined) return ERROR;
      const size = Math.ceil(d / n);
      const sizes: number[] = [];
      for (let left = d; left > 0; left -= size) sizes.push(Math.min(size, left));
      return splitInto(ctx, x, sizes, axis);
    },
  },
  {
    name: "expand",
    doc:
      "Broadcast to a shape as torch's expand: a dim of size 1 grows to the target's, new leading " +
      "dims are added, -1 keeps a dim: expand(x, (N, 1, T, T)), expand(row, (N, 8)) for a row f32[8]. " +
      "A symbolic dim x lacks is read at run time from x or from a model input that has it.",
    sig: [X, { name: "shape", type: "any" }],
    apply(ctx, a) {
      const x = t(a.x);
      const s = shapeArg(ctx, a.shape, "expand");
      return s ? expand(ctx, x, s) : ERROR;
    },
  },
  {
    name: "arange",
    doc:
      "The positions 0..n-1 as i64[n]: a constant for an int n; for a symbolic dim, computed from a tensor " +
      "that has it, arange(T, like: ids).",
    sig: [{ name: "n", type: "any" }, { name: "like", type: "tensor", optional: true }],
    apply(ctx, a) {
      const n = a.n;
      if (n.k === "int") {
        if (n.v < 0) return ctx.error(...diag("DLM0210", "arange()", "n >= 0", n.v));
        return ctx.constant(table("i64", [n.v], "arange()", (i) => i));
      }
      if (n.k !== "dim") {
        return ctx.error(
          ...diag("DLM0201", "arange()", "an int or a symbolic dim for 'n'", describe(n)),
          ctx.argSpan("n"),
        );
      }
      if (!a.like) {
        return ctx.error(
          ...diag(
            "DLM0223",
            `arange(${n.v}) of a symbolic dim`,
            `a tensor that has it: arange(${n.v}, like: x)`,
          ),
        );
      }
      const like = t(a.like);
      const at = findDim(like, n.v);
      if (at < 0) {
        return ctx.error(
          ...diag("DLM0203", "arange()", `the dim ${n.v} in 'like'`, formatType(like.t)),
          ctx.argSpan("like"),
        );
      }
      return rangeAlong(ctx, like, at) ?? ERROR;
    },
  },
  ...(["tril", "triu"] as const).map((name): FnDef => ({
    name,
    doc: `${
      name === "tril" ? "Lower" : "Upper"
    } triangle of the last two dims (diagonal k, default 0), the rest zeroed.`,
    sig: [X, { name: "k", type: "int", default: i(0) }],
    apply(ctx, a) {
      const x = t(a.x);
      if (x.t.shape.length < 2) {
        return ctx.error(...diag("DLM0203", `${name}()`, "a rank >= 2 input", formatType(x.t)));
      }
      return withGraph(ctx, (e) => {
        const k = e.constant(tensor("i64", [], [num(a.k)]));
        return e.tensor(x).op("Trilu", [k], { upper: name === "triu" ? 1 : 0 });
      }) ?? ERROR;
    },
  })),
  {
    name: "masked_fill",
    doc: "x with `value` where the bool mask (broadcast) is true, as torch's masked_fill.",
    sig: [X, { name: "mask", type: "tensor" }, { name: "value", type: "number" }],
    apply(ctx, a) {
      const x = t(a.x), m = t(a.mask);
      if (m.t.dtype !== "bool") {
        return ctx.error(
          ...diag("DLM0207", "masked_fill()", "a bool mask", formatType(m.t)),
          ctx.argSpan("mask"),
        );
      }
      return withGraph(ctx, (e) => e.op1("Where", [m.v, e.scalar(num(a.value), x.t.dtype), x.v])) ??
        ERROR;
    },
  },
  {
    name: "gather",
    doc:
      "ONNX Gather: take slices along axis (default 0) at integer indices; the result has the indices' " +
      "dims in place of the axis (torch.index_select for 1-D indices). torch.gather is take_along_axis.",
    sig: [X, {
      name: "indices",
      type: "tensor",
      // gather(x, 1, idx) is torch.gather's order: say which function that is here.
      hint: (v) =>
        v.k === "int"
          ? `torch.gather(x, dim, index) is take_along_axis(x, index, axis: ${v.v}) here; ` +
            "gather() is ONNX Gather, whole slices as torch.index_select"
          : undefined,
    }, { name: "axis", type: "int", default: i(0) }],
    apply(ctx, a) {
      const x = t(a.x);
      const axis = normAxisArg(ctx, num(a.axis), x.t.shape.length, "gather");
      if (axis === undefined) return ERROR;
      return withGraph(ctx, (e) => e.tensor(x).op("Gather", [t(a.indices).v], { axis })) ?? ERROR;
    },
  },
  {
    name: "index_select",
    doc: "torch.index_select(x, axis, indices): the entries of 1-D indices along axis.",
    sig: [X, { name: "axis", type: "int" }, { name: "indices", type: "tensor" }],
    apply(ctx, a) {
      const x = t(a.x), idx = t(a.indices);
      if (idx.t.shape.length !== 1) {
        return ctx.error(
          ...diag("DLM0203", "index_select()", "1-D indices", formatType(idx.t)),
          ctx.argSpan("indices"),
        );
      }
      const axis = normAxisArg(ctx, num(a.axis), x.t.shape.length, "index_select");
      if (axis === undefined) return ERROR;
      return withGraph(ctx, (e) => e.tensor(x).op("Gather", [idx.v], { axis })) ?? ERROR;
    },
  },
  {
    name: "stack",
    doc: "Join tensors of one shape along a new axis (default 0).",
    sig: [{ name: "xs", type: "tensors", variadic: true }, {
      name: "axis",
      type: "int",
      default: i(0),
    }],
    apply(ctx, a) {
      const xs = (a.xs as { items: Value[] }).items.map(t);
      if (xs.length === 0) return ctx.error(...diag("DLM0223", "stack()", "at least one tensor"));
      const axis = normAxisArg(ctx, num(a.axis), xs[0].t.shape.length + 1, "stack");
      if (axis === undefined) return ERROR;
      return withGraph(ctx, (e) => {
        const us = xs.map((x) => e.tensor(x).unsqueeze([axis]));
        return us.length === 1 ? us[0] : e.op1("Concat", us, { axis });
      }) ?? ERROR;
    },
  },
  {
    name: "permute",
    doc: "Reorder dims as torch's permute: permute(x, (0, 2, 1, 3)).",
    sig: [X, { name: "dims", type: "ints" }],
    apply(ctx, a) {
      const x = t(a.x);
      const r = x.t.shape.length;
      const perm = expandInts(a.dims, r).map((p) => (p < 0 ? p + r : p));
      const ok = perm.length === r && [...perm].sort((p, q) => p - q).every((v, k) => v === k);
      if (!ok) {
        return ctx.error(
          ...diag(
            "DLM0233",
            "permute()",
            r - 1,
            formatType(x.t),
            expandInts(a.dims, r).join(", "),
          ),
          ctx.argSpan("dims"),
        );
      }
      return withGraph(ctx, (e) => e.tensor(x).transpose(perm)) ?? ERROR;
    },
  },
];

/** The tensor operations by name. */
export const FUNCTIONS: Record<string, FnDef> = Object.fromEntries(defs.map((d) => [d.name, d]));
