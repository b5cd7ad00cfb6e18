/**
 * Built-in functions that sort and that index element by element along an axis: `topk`, `sort`
 * and `argsort` (ONNX TopK), `take_along_axis` (torch.gather, ONNX GatherElements), `scatter`
 * and `scatter_add` (torch's, ONNX ScatterElements). MAE's random masking is written with them:
 * argsort of noise ranks the patches, the first k indices pick the visible ones, and a scatter
 * puts the encoded ones back in place.
 *
 * Naming: `gather` was already ONNX Gather (whole slices at indices, torch.index_select's
 * meaning), so torch.gather's element-wise gather is numpy's name, `take_along_axis(x, indices,
 * axis:)`, rather than a second meaning of `gather` told apart by its arguments. A call in
 * torch's order (`gather(x, 1, idx)`, `scatter(x, 1, idx, src)`) is DLM0247, which spells the
 * call to write instead.
 *
 * Ties: a sort is stable, equal values keep the order of their indices (ONNX TopK's rule, which
 * onnxruntime and the reference interpreter follow, ascending and descending alike): torch's
 * `sort(stable=True)` order. torch's default sort and its topk do not promise an order of ties.
 *
 * Each lowers to what torch.onnx.export emits for the same call, or fewer nodes: `topk` with an
 * int k and `sort`/`argsort` along a dim of known size are one TopK (torch's sort reads the dim
 * with Shape and Gather first, 3 nodes); along a symbolic dim, Shape then TopK (2 nodes).
 * `take_along_axis`, `scatter` and `scatter_add` are one node each, as torch's.
 */
import { diag } from "../../diagnostics.ts";
import { type Dim, formatType } from "../../ir/graph.ts";
import type { DType } from "../../ir/tensor.ts";
import { dimEquals } from "../../ops/dims.ts";
import type { Ctx } from "../context.ts";
import { num } from "../signature.ts";
import { describe, ERROR, type TensorValue, type Value } from "../values.ts";
import type { FnDef } from "./functions.ts";
import { normAxisArg } from "./tensor_ops.ts";
import { B, i, t, withGraph, withGraphs, X } from "./util.ts";

/** The dtypes onnxruntime's TopK sorts (on the CPU). */
const SORTABLE: readonly DType[] = ["f32", "f64", "i32", "i64"];
const INDEX: readonly DType[] = ["i64", "i32"];

function sortable(ctx: Ctx, x: TensorValue, what: string): boolean {
  if (SORTABLE.includes(x.t.dtype)) return true;
  ctx.error(
    ...diag("DLM0207", `${what}()`, `a tensor of ${SORTABLE.join(", ")}`, formatType(x.t)),
    ctx.argSpan("x"),
  );
  return false;
}

/**
 * TopK of `x` along `axis` with K = `k`: an int (a constant K) or a symbolic dim that x, or else
 * `like`, has at some axis (K read from that tensor by Shape, one node). The outputs' dim `axis`
 * is k exactly, whichever way K was made.
 */
function topK(
  ctx: Ctx,
  x: TensorValue,
  axis: number,
  k: Dim,
  largest: boolean,
  like?: TensorValue,
): [TensorValue, TensorValue] | undefined {
  const r = withGraphs(ctx, (e) => {
    let kIn;
    if (typeof k === "number") kIn = e.ints([k]);
    else {
      const from = x.t.shape.some((d) => dimEquals(d, k)) ? x : like!;
      const at = from.t.shape.findIndex((d) => dimEquals(d, k));
      kIn = e.tensor(from).op("Shape", [], { start: at, end: at + 1 });
    }
    return e.op("TopK", [e.tensor(x), kIn], { axis, largest: largest ? 1 : 0, sorted: 1 });
  });
  if (!r) return undefined;
  const shape = [...x.t.shape];
  shape[axis] = k;
  const fix = (v: TensorValue) =>
    dimEquals(v.t.shape[axis], k) ? v : ctx.refine(v, { dtype: v.t.dtype, shape });
  return [fix(r[0]), fix(r[1])];
}

/** The k argument of topk as a dim, or undefined after reporting why it does not fit. */
function kArg(
  ctx: Ctx,
  x: TensorValue,
  axis: number,
  k: Value,
  like?: TensorValue,
): Dim | undefined {
  const d = x.t.shape[axis];
  if (k.k === "int") {
    if (k.v < 0 || (typeof d === "number" && k.v > d)) {
      ctx.error(
        ...diag("DLM0241", "topk", d, axis, formatType(x.t), k.v),
        ctx.argSpan("k"),
      );
      return undefined;
    }
    return k.v;
  }
  if (k.k === "dim") {
    const has = (v?: TensorValue) => v?.t.shape.some((s) => dimEquals(s, k.v));
    if (!has(x) && !has(like)) {
      const where = like ? `${formatType(x.t)} or of like: ${formatType(like.t)}` : formatType(x.t);
      ctx.error(...diag("DLM0242", "topk", where, k.v), ctx.argSpan("k"));
      return undefined;
    }
    return k.v;
  }
  ctx.error(
    ...diag("DLM0201", "topk()", "an int or a symbolic dim for 'k'", describe(k)),
    ctx.argSpan("k"),
  );
  return undefined;
}

/**
 * Indices for an element-wise gather or scatter along `axis` of `x`: integers, of x's rank, no
 * larger than x outside the axis (where both sizes are known). Reports at the indices.
 */
function indicesFit(ctx: Ctx, x: TensorValue, idx: TensorValue, axis: number, what: string) {
  const at = ctx.argSpan("indices");
  if (!INDEX.includes(idx.t.dtype)) {
    ctx.error(...diag("DLM0243", what, formatType(idx.t)), at);
    return false;
  }
  const r = x.t.shape.length;
  if (idx.t.shape.length !== r) {
    ctx.error(...diag("DLM0244", what, r, formatType(idx.t)), at);
    return false;
  }
  for (let k = 0; k < r; k++) {
    const di = idx.t.shape[k], dx = x.t.shape[k];
    if (k !== axis && typeof di === "number" && typeof dx === "number" && di > dx) {
      ctx.error(...diag("DLM0245", what, k, formatType(idx.t), di, formatType(x.t), dx), at);
      return false;
    }
  }
  return true;
}

/** Two dims that cannot be the same size: known and different, or two different named dims. */
function clash(a: Dim, b: Dim): boolean {
  if (typeof a === "number" && typeof b === "number") return a !== b;
  const fresh = (d: Dim) => typeof d === "string" && d.startsWith("?");
  return typeof a === "string" && typeof b === "string" && !fresh(a) && !fresh(b) &&
    !dimEquals(a, b);
}

/** DLM0247's advice for an int where a call in torch's order puts `dim`. */
const torchOrder = (torch: string, ours: (dim: number) => string) => (v: Value) =>
  v.k === "int" ? `torch.${torch} is ${ours(v.v)} here` : undefined;

const INDICES_OF = (torch: string, ours: (dim: number) => string) => ({
  name: "indices",
  type: "tensor" as const,
  hint: torchOrder(torch, ours),
});

function scatter(name: "scatter" | "scatter_add"): FnDef {
  const add = name === "scatter_add";
  return {
    name,
    doc: add
      ? "torch.scatter_add along axis (default -1): x with src added at the positions the indices " +
        "name (src[i][j] to out[i][indices[i][j]] for axis 1), repeated positions adding up; indices " +
        "and src of one shape, which fits in x's outside the axis."
      : "torch.scatter along axis (default -1): x with src written at the positions the indices " +
        "name (out[i][indices[i][j]] = src[i][j] for axis 1); src a tensor of the indices' shape " +
        "or a number. Which write wins at a repeated position is left open, as in torch.",
    sig: [
      X,
      INDICES_OF(`${name}(x, dim, index, src)`, (d) => `${name}(x, index, src, axis: ${d})`),
      { name: "src", type: "tensor_or_number" },
      { name: "axis", type: "int", default: i(-1) },
    ],
    apply(ctx, a) {
      const x = t(a.x), idx = t(a.indices);
      const axis = normAxisArg(ctx, num(a.axis), x.t.shape.length, name);
      if (axis === undefined || !indicesFit(ctx, x, idx, axis, name)) return ERROR;
      const src = a.src;
      if (src.k === "tensor") {
        const s = src as TensorValue;
        if (s.t.dtype !== x.t.dtype) {
          return ctx.error(
            ...diag("DLM0207", `${name}()`, `src of x's dtype ${x.t.dtype}`, formatType(s.t)),
            ctx.argSpan("src"),
          );
        }
        const r = idx.t.shape.length;
        if (s.t.shape.length !== r || s.t.shape.some((d, k) => clash(d, idx.t.shape[k]))) {
          return ctx.error(
            ...diag("DLM0246", name, formatType(idx.t), formatType(s.t)),
            ctx.argSpan("src"),
          );
        }
      }
      return withGraph(ctx, (e) => {
        let upd;
        if (src.k === "tensor") upd = e.tensor(src as TensorValue);
        else {
          // A number, broadcast to the indices' shape (torch.scatter's `value`).
          const shape = idx.t.shape.every((d) => typeof d === "number")
            ? e.ints(idx.t.shape as number[])
            : e.tensor(idx).shape();
          upd = e.scalar(num(src), x.t.dtype).expand(shape);
        }
        // Without a reduction attribute the node is also ScatterElements-11/13's.
        return e.tensor(x).op(
          "ScatterElements",
          [idx.v, upd],
          add ? { axis, reduction: "add" } : { axis },
        );
      }) ?? ERROR;
    },
  };
}

function sortFn(name: "sort" | "argsort"): FnDef {
  return {
    name,
    doc: name === "sort"
      ? "torch.sort along axis (default -1): the tuple (values, indices), ascending unless " +
        "descending; stable (equal values keep their order), as torch.sort(stable=True). " +
        "let (v, idx) = sort(x, axis: 1)."
      : "The i64 indices that sort x along axis (default -1), as torch.argsort: stable (equal " +
        "values keep their order), ascending unless descending. argsort(argsort(x)) is each " +
        "element's rank.",
    sig: [
      X,
      { name: "axis", type: "int", default: i(-1) },
      { name: "descending", type: "bool", default: B(false) },
    ],
    apply(ctx, a) {
      const x = t(a.x);
      if (!sortable(ctx, x, name)) return ERROR;
      const axis = normAxisArg(ctx, num(a.axis), x.t.shape.length, name);
      if (axis === undefined) return ERROR;
      if (x.t.shape.length === 0) {
        return ctx.error(...diag("DLM0203", `${name}()`, "a tensor of rank >= 1", "a scalar"));
      }
      const desc = a.descending.k === "bool" && a.descending.v;
      const r = topK(ctx, x, axis, x.t.shape[axis], desc);
      if (!r) return ERROR;
      return name === "sort" ? { k: "tuple", items: r } : r[1];
    },
  };
}

const defs: FnDef[] = [
  {
    name: "topk",
    doc: "torch.topk: the k largest (smallest unless largest) values along axis (default -1) and " +
      "their i64 indices, a tuple: let (v, idx) = topk(x, 5). k is an int no larger than the dim, " +
      "or a symbolic dim of x or of a tensor given as like: topk(scores, Q, like: queries). " +
      "Sorted, equal values in index order; sorted: false is accepted for torch's sake and " +
      "sorts all the same.",
    sig: [
      X,
      { name: "k", type: "any" },
      { name: "axis", type: "int", default: i(-1) },
      { name: "largest", type: "bool", default: B(true) },
      { name: "sorted", type: "bool", default: B(true) },
      { name: "like", type: "tensor", optional: true },
    ],
    apply(ctx, a) {
      const x = t(a.x);
      if (!sortable(ctx, x, "topk")) return ERROR;
      const axis = normAxisArg(ctx, num(a.axis), x.t.shape.length, "topk");
      if (axis === undefined) return ERROR;
      if (x.t.shape.length === 0) {
        return ctx.error(...diag("DLM0203", "topk()", "a tensor of rank >= 1", "a scalar"));
      }
      const like = a.like ? t(a.like) : undefined;
      const k = kArg(ctx, x, axis, a.k, like);
      if (k === undefined) return ERROR;
      // ONNX's unsorted order is the runtime's own (onnxruntime's differs from a sort), so the
      // result is always sorted: one valid order of an unsorted top k, the same everywhere.
      const r = topK(ctx, x, axis, k, a.largest.k === "bool" && a.largest.v, like);
      return r ? { k: "tuple", items: r } : ERROR;
    },
  },
  sortFn("sort"),
  sortFn("argsort"),
  {
    name: "take_along_axis",
    doc: "torch.gather(x, axis, indices) (numpy's take_along_axis): out[i][j] = " +
      "x[i][indices[i][j]] for axis 1; indices of x's rank, no larger than x outside the axis, " +
      "give the result's shape. gather() is ONNX Gather, whole slices as torch.index_select.",
    sig: [
      X,
      INDICES_OF("gather(x, dim, index)", (d) => `take_along_axis(x, index, axis: ${d})`),
      { name: "axis", type: "int", default: i(-1) },
    ],
    apply(ctx, a) {
      const x = t(a.x), idx = t(a.indices);
      const axis = normAxisArg(ctx, num(a.axis), x.t.shape.length, "take_along_axis");
      if (axis === undefined || !indicesFit(ctx, x, idx, axis, "take_along_axis")) return ERROR;
      return withGraph(ctx, (e) => e.tensor(x).op("GatherElements", [idx.v], { axis })) ?? ERROR;
    },
  },
  scatter("scatter"),
  scatter("scatter_add"),
];

/** The sorting and along-an-axis indexing functions by name. */
export const FUNCTIONS: Record<string, FnDef> = Object.fromEntries(defs.map((d) => [d.name, d]));
