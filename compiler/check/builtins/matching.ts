/**
 * Exact minimum-cost bipartite matching inside the graph: `linear_sum_assignment(cost, mask:)`,
 * scipy's name, for DETR's Hungarian matching of queries to the objects of each image. It runs
 * in the ONNX step as plain ops (three nested Loops, opset 16), in onnxruntime and in the
 * reference interpreter alike; no gradient flows through it (the result is integers, and the
 * cost is read through a stop-gradient), as in DETR, whose loss then gathers the matched
 * predictions with `take_along_axis`.
 *
 * The algorithm is the shortest-augmenting-path Hungarian method (Kuhn-Munkres with
 * Jonker-Volgenant's Dijkstra step, in the O(n^2 m) form of e-maxx), vectorised over the columns
 * and over the batch. For n rows and m >= n columns, 1-indexed with a dummy column 0 and a dummy
 * row 0, it keeps potentials u (rows) and v (columns) and p[j], the row matched to column j.
 * Rows are added one at a time (the outer Loop); adding row i grows a shortest-path tree from
 * column 0 (p[0] = i) over the reduced costs a[i0][j] - u[i0] - v[j] >= 0 (the inner Loop):
 *
 *   used[j0] = true; i0 = p[j0]
 *   for the free columns j: cur = a[i0][j] - u[i0] - v[j];
 *                           if cur < minv[j]: minv[j] = cur, way[j] = j0
 *   delta, j1 = min, argmin over the free columns of minv
 *   for every column j:  used: u[p[j]] += delta, v[j] -= delta;  free: minv[j] -= delta
 *   j0 = j1, until p[j0] = 0 (a column no row holds)
 *
 * then flips the path back through `way` (the augment Loop): p[j0] = p[way[j0]], j0 = way[j0]
 * until j0 = 0. The updates keep u[i] + v[j] <= a[i][j] everywhere, with equality on matched
 * pairs and on the tree, so the final matching is optimal by LP duality (complementary
 * slackness); ties only choose among optimal matchings. Each tensor op below is one of those
 * lines for all columns and all batch elements at once: the inner Loop runs until every batch
 * element has found its free column, an element that has stays put (its delta taken as 0).
 *
 * Why no column reduction first (Jonker-Volgenant's v[j] = min_i a[i][j]): with fewer rows than
 * columns the dual of "each column at most once" needs v <= 0, with v = 0 on the columns left
 * unmatched, which a reduced start breaks (it gives a matching of cost 4 where 3 is optimal in
 * matching_test.ts's masked example). Starting from zeros, v only decreases, on columns that stay
 * matched. The price: when every row prefers the same columns (DETR's first steps, all queries
 * alike), row k's path runs through the k columns taken before it, about R^2 / 2 inner
 * iterations in all (bench/matching.ts, "alike").
 *
 * The arithmetic is f64 whatever the cost's float type: the potentials are sums and
 * differences of costs, exact in f64 for the costs a f32 tensor holds unless they span more
 * than 2^29 of their own ulps, so the optimum is scipy's, not a rounding of it.
 *
 * Rectangular and masked: the valid rows of each batch element (all, or those the mask marks)
 * are matched to the columns; when an element has more valid rows than there are columns, its
 * problem is transposed (columns matched to rows), as scipy does for a tall matrix. Every
 * element becomes one square N x N problem, N = max(R, C), with rows that take part (`active`)
 * and columns that may be used (`allowed`); its active rows are taken in order, min(R, C)
 * iterations of the outer Loop (a row that is not active for some element makes no change).
 */
import { diag } from "../../diagnostics.ts";
import { formatType, type Graph, type TensorType } from "../../ir/graph.ts";
import type { Expr } from "../../ir/expr.ts";
import { type DType, tensor } from "../../ir/tensor.ts";
import { DLM_DOMAIN } from "../../ops/stop_gradient.ts";
import type { Ctx } from "../context.ts";
import { ERROR, type TensorValue } from "../values.ts";
import type { FnDef } from "./functions.ts";
import { B, type CtxGraph, t, withGraphs } from "./util.ts";

const FLOATS: readonly DType[] = ["f16", "f32", "f64", "bf16"];

/**
 * Build a Loop body: `build` gets the body's inputs (iteration_num, cond, then one per
 * loop-carried value, typed as `carried`) and returns its outputs (cond, the carried values,
 * in order). An output that is not a node of this body (an input passed through, an outer
 * value) goes through an Identity, as ONNX wants each output defined in the body.
 */
function loopBody(
  ctx: Ctx,
  e: CtxGraph,
  name: string,
  carried: TensorType[],
  build: (iter: Expr, cond: Expr, ...vs: Expr[]) => Expr[],
): Graph {
  const k = ctx.ordinal(name);
  const prefix = `${ctx.child(`${name}_${k}`)}/`;
  const { body } = ctx.subgraph(prefix.slice(0, -1), prefix, (sub) => {
    const types: TensorType[] = [
      { dtype: "i64", shape: [] },
      { dtype: "bool", shape: [] },
      ...carried,
    ];
    const names = ["iter", "cond", ...carried.map((_, i) => `v${i}`)];
    const ins = types.map((ty, i) =>
      e.tensor({ k: "tensor", v: sub.input(names[i], ty), t: { ...ty, shape: [...ty.shape] } })
    );
    const outs = build(ins[0], ins[1], ...ins.slice(2));
    const made = new Set(sub.graph.nodes.flatMap((n) => n.outputs));
    const seen = new Set<string>();
    for (const o of outs) {
      const own = made.has(o.name) && !seen.has(o.name) ? o : o.op("Identity");
      seen.add(own.name);
      sub.output(own.name);
    }
  });
  return body.graph;
}

/** cond of a while loop: whether any element of the bool `x` is true, a bool scalar. */
function any(x: Expr): Expr {
  return x.cast("i64").reduceMax(undefined, false).cast("bool");
}

/**
 * The matching of each batch element of the oriented problem: `o1` f64[B, N+1, N+1] (a dummy
 * zero row and column first), `active` i64[B, N] (1: the row takes part), `allowed1`
 * bool[B or 1, N+1] (columns that may be used, the dummy column not), `K` the number of outer
 * iterations. Returns p, i64[B, N+1]: the 1-based row holding each column (0: none).
 */
function hungarian(
  ctx: Ctx,
  e: CtxGraph,
  o1: Expr,
  active: Expr,
  allowed1: Expr,
  n: number,
  K: number,
): Expr {
  const scalarI64 = (v: number) => e.constant(tensor("i64", [], [v]));
  // Zeros [B, N+1]: the dummy row 0 of the cost, so that B stays the cost's own dim.
  const zerosF = o1.op("Slice", [e.ints([0]), e.ints([1]), e.ints([1])]).squeeze([1]);
  const zerosI = zerosF.cast("i64");
  const infs = zerosF.add(Infinity);
  const falses = zerosF.cast("bool");
  const colIdx = e.constant(tensor("i64", [1, n + 1], Array.from({ length: n + 1 }, (_, j) => j)));
  const isCol0 = colIdx.equal(0);
  // Active rows first, in index order (TopK is stable), and how many each element has.
  const rows = e.op("TopK", [active, e.ints([n])], { axis: 1, largest: 1, sorted: 1 })[1];
  const count = active.sum([1], true); // [B, 1]
  const tBN1f = zerosF.type, tBN1i = zerosI.type, tBN1b = falses.type;
  const tB1i = { dtype: "i64" as DType, shape: [o1.type.shape[0], 1] };
  const tB1b = { dtype: "bool" as DType, shape: [o1.type.shape[0], 1] };

  const outer = loopBody(ctx, e, "hungarian_row", [tBN1f, tBN1f, tBN1i], (k, cond, u, v, p) => {
    // Row i (1-based) of each element at this iteration, if the element has a k-th active row.
    const kk = k.unsqueeze([0]);
    const rowK = e.op1("Gather", [rows, kk], { axis: 1 }); // [B, 1]
    const i = rowK.add(1);
    const act = kk.less(count); // [B, 1]
    const p1 = act.and(isCol0).where(i, p); // p[0] = i
    const j0 = rowK.sub(rowK); // zeros [B, 1]
    const done0 = act.not();
    const inner = loopBody(
      ctx,
      e,
      "hungarian_path",
      [tB1i, tB1b, tBN1f, tBN1b, tBN1i, tBN1f, tBN1f],
      (_it, _c, j0, done, minv, used, way, u, v) => {
        const run = done.not();
        const used1 = used.or(colIdx.equal(j0).and(run));
        const i0 = e.op1("GatherElements", [p1, j0], { axis: 1 }); // [B, 1]
        // Row i0 of the cost: a[i0][j] for every column j.
        const idx = i0.unsqueeze([2]).expand(e.ints([1, 1, n + 1]));
        const arow = e.op1("GatherElements", [o1, idx], { axis: 1 }).squeeze([1]);
        const ui0 = e.op1("GatherElements", [u, i0], { axis: 1 });
        const cur = arow.sub(ui0).sub(v);
        const free = used1.not().and(allowed1);
        const better = free.and(run).and(cur.less(minv));
        const minv1 = better.where(cur, minv);
        const way1 = better.where(j0, way);
        const cand = free.where(minv1, Infinity);
        const [dmin, j1] = e.op("TopK", [cand, e.ints([1])], { axis: 1, largest: 0, sorted: 1 });
        const delta = run.where(dmin, 0);
        const du = used1.where(delta, 0); // [B, N+1]: delta on the tree's columns
        const u1 = u.op("ScatterElements", [p1, du], { axis: 1, reduction: "add" });
        const v1 = v.sub(du);
        const minv2 = used1.where(minv1, minv1.sub(delta));
        const j0n = run.where(j1, j0);
        const pj = e.op1("GatherElements", [p1, j0n], { axis: 1 });
        const done1 = done.or(pj.equal(0));
        return [any(done1.not()), j0n, done1, minv2, used1, way1, u1, v1];
      },
    );
    const [j0f, , , , wayf, uf, vf] = e.op(
      "Loop",
      [scalarI64(n + 1), any(act), j0, done0, infs, falses, zerosI, u, v],
      { body: inner },
      { nOutputs: 7 },
    );
    // Flip the path back: p[j0] = p[way[j0]], j0 = way[j0], until j0 = 0 (way[0] = 0 and
    // p[0] = p[0] for the elements already there).
    const aug = loopBody(ctx, e, "hungarian_augment", [tB1i, tBN1i], (_it, _c, j, pp) => {
      const j1 = e.op1("GatherElements", [wayf, j], { axis: 1 });
      const pj1 = e.op1("GatherElements", [pp, j1], { axis: 1 });
      const p2 = pp.op("ScatterElements", [j, pj1], { axis: 1 });
      return [any(j1.equal(0).not()), j1, p2];
    });
    const [, pf] = e.op(
      "Loop",
      [scalarI64(n + 1), any(j0f.equal(0).not()), j0f, p1],
      { body: aug },
      { nOutputs: 2 },
    );
    return [cond, uf, vf, pf];
  });
  const [, , pFinal] = e.op("Loop", [scalarI64(K), "", zerosF, zerosF, zerosI], {
    body: outer,
  }, { nOutputs: 3 });
  return pFinal;
}

const linearSumAssignment: FnDef = {
  name: "linear_sum_assignment",
  doc: "Exact minimum-cost matching of rows to columns (scipy.optimize.linear_sum_assignment, " +
    "the Hungarian matching of DETR), computed inside the graph: cost [B, R, C] (or [R, C]) of " +
    "floats, mask an optional [B, R] of valid rows (bool, or 1/0; padded objects 0). The tuple " +
    "(cols, rows): cols i64[B, R] the column of each row, rows i64[B, C] the row of each column, " +
    "-1 where there is none. Every valid row is matched when there are no more of them than " +
    "columns, else every column (scipy's rule for a tall matrix). maximize: true for the " +
    "largest total. No gradient flows through it.",
  sig: [
    { name: "cost", type: "tensor" },
    { name: "mask", type: "tensor", optional: true },
    { name: "maximize", type: "bool", default: B(false) },
  ],
  apply(ctx, a) {
    const cost = t(a.cost);
    const rank = cost.t.shape.length;
    if (!FLOATS.includes(cost.t.dtype) || (rank !== 2 && rank !== 3)) {
      return ctx.error(...diag("DLM0280", formatType(cost.t)), ctx.argSpan("cost"));
    }
    const [R, C] = cost.t.shape.slice(-2);
    if (typeof R !== "number" || typeof C !== "number" || R === 0 || C === 0) {
      return ctx.error(...diag("DLM0281", formatType(cost.t)), ctx.argSpan("cost"));
    }
    const mask = a.mask ? t(a.mask) : undefined;
    if (mask) {
      const want = cost.t.shape.slice(0, -1);
      const fits = mask.t.shape.length === want.length &&
        mask.t.shape.every((d, k) => d === want[k]) &&
        (mask.t.dtype === "bool" || FLOATS.includes(mask.t.dtype) ||
          ["i64", "i32", "u8", "i8"].includes(mask.t.dtype));
      if (!fits) {
        return ctx.error(
          ...diag("DLM0282", `bool[${want.join(", ")}]`, formatType(cost.t), formatType(mask.t)),
          ctx.argSpan("mask"),
        );
      }
    }
    const maximize = a.maximize.k === "bool" && a.maximize.v;
    const N = Math.max(R, C), K = Math.min(R, C);
    const r = withGraphs(ctx, (e) => {
      let x = e.tensor(cost);
      if (rank === 2) x = x.unsqueeze([0]);
      x = e.op1("StopGradient", [x], {}, { domain: DLM_DOMAIN }).cast("f64");
      if (maximize) x = x.neg();
      // Valid rows as i64 1/0, [B, R].
      let valid: Expr | undefined;
      if (mask) {
        let m = e.tensor(mask);
        if (rank === 2) m = m.unsqueeze([0]);
        valid = m.dtype === "bool" ? m.cast("i64") : m.equal(e.scalar(0, m.dtype)).not()
          .cast("i64");
      }
      const lt = (k: number) =>
        e.constant(tensor("i64", [1, N], Array.from({ length: N }, (_, j) => j < k ? 1 : 0)));
      const pad = (y: Expr, pads: number[], value?: Expr) =>
        y.op("Pad", value ? [e.ints(pads), value] : [e.ints(pads)]);
      // Zeros i64[B, 1], to give a constant row the batch's size (from the cost's first
      // element, through a comparison so that no value of it can make a NaN).
      const zerosB1 = x.op("Slice", [e.ints([0, 0]), e.ints([1, 1]), e.ints([1, 2])])
        .squeeze([2]).equal(0).cast("i64").mul(0);
      const zerosBN = lt(N).add(zerosB1).mul(0);
      // The oriented square problem: flip[b] when element b has more valid rows than columns.
      let o1: Expr, active: Expr, allowed: Expr;
      let flip: Expr | boolean;
      if (R <= C) {
        flip = false;
        o1 = pad(x, [0, 1, 1, 0, N - R, N - C]);
        active = valid ? pad(valid, [0, 0, 0, N - R]) : lt(R).add(zerosBN);
        allowed = lt(C);
      } else if (!valid) {
        flip = true;
        o1 = pad(x.transpose([0, 2, 1]), [0, 1, 1, 0, N - C, N - R]);
        active = lt(C).add(zerosBN);
        allowed = lt(N);
      } else {
        const f = valid.sum([1], true).greater(e.scalar(C, "i64")); // [B, 1]
        flip = f;
        const ap = pad(x, [0, 1, 1, 0, 0, N - C]);
        o1 = f.unsqueeze([2]).where(ap.transpose([0, 2, 1]), ap);
        active = f.where(lt(C), valid);
        allowed = f.where(valid, lt(C));
      }
      const allowed1 = pad(allowed, [0, 1, 0, 0]).cast("bool");
      const p = hungarian(ctx, e, o1, active, allowed1, N, K);
      // 0-based: the oriented row of each column, and (inverted) the column of each row.
      const sl = (y: Expr, from: number, to: number) =>
        y.op("Slice", [e.ints([from]), e.ints([to]), e.ints([1])]);
      const pCols = sl(p, 1, N + 1); // [B, N], 1-based rows, 0 none
      const rowOfCol = pCols.sub(1);
      const cols = e.constant(tensor("i64", [1, N], Array.from({ length: N }, (_, j) => j)));
      const inv = p.mul(0).sub(1).op("ScatterElements", [pCols, cols.add(zerosBN)], {
        axis: 1,
      });
      const colOfRow = sl(inv, 1, N + 1);
      let outRows: Expr, outCols: Expr;
      if (flip === false) [outCols, outRows] = [colOfRow, rowOfCol];
      else if (flip === true) [outCols, outRows] = [rowOfCol, colOfRow];
      else [outCols, outRows] = [flip.where(rowOfCol, colOfRow), flip.where(colOfRow, rowOfCol)];
      outCols = sl(outCols, 0, R);
      outRows = sl(outRows, 0, C);
      if (rank === 2) [outCols, outRows] = [outCols.squeeze([0]), outRows.squeeze([0])];
      return [outCols, outRows];
    });
    if (!r) return ERROR;
    // The results have the cost's batch dim: where a rule left a dim to run time, say so.
    const fit = (v: TensorValue, n: number) => {
      const shape = [...cost.t.shape.slice(0, -2), n];
      const open = v.t.shape.length === shape.length &&
        v.t.shape.every((d, k) => d === shape[k] || (typeof d === "string" && d.startsWith("?")));
      return open ? ctx.refine(v, { dtype: "i64", shape }) : v;
    };
    return { k: "tuple", items: [fit(r[0], R), fit(r[1], C)] };
  },
};

/** The matching functions by name. */
export const FUNCTIONS: Record<string, FnDef> = { [linearSumAssignment.name]: linearSumAssignment };
