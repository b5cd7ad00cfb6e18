/**
 * The Reduce* ops (opset 13): reduce `data` over `axes` (all axes when
 * none are given), keeping each reduced axis as size 1 (keepdims = 1) or
 * removing it. ReduceSum takes its axes as an optional i64 input since
 * opset 13; the others take an `axes` attribute until opset 17 and an
 * input from opset 18, which their `lower` produces as a Constant node.
 */
import { type Dim, formatType, type Node } from "../ir/graph.ts";
import { type DType, tensor, toNumbers } from "../ir/tensor.ts";
import { type GradContext, type GradRule, type OpDef, ShapeError } from "./op_def.ts";
import { countOver, expandTo, gradOf, inputOf, outputOf } from "./grad_util.ts";
import type { Expr } from "../ir/expr.ts";
import {
  constInts,
  expectDtype,
  expectRank,
  FLOAT,
  freshDim,
  input,
  intAttr,
  intsAttr,
  normAxes,
} from "./rules.ts";
import { diag } from "../diagnostics.ts";

const REDUCE_TYPES: readonly DType[] = ["u32", "u64", "i32", "i64", ...FLOAT];

interface ReduceRow {
  op: string;
  since: number;
  dtypes: readonly DType[];
  /** Axes come from input 1 (ReduceSum) rather than the `axes` attribute. */
  axesInput?: boolean;
}

/** The reduced axes of a Reduce node (normalised, sorted), from its attribute or constant input. */
function reducedAxes(c: GradContext): number[] {
  const rank = c.inputTypes[0]!.shape.length;
  let axes: number[] | undefined;
  if (c.node.op === "ReduceSum") {
    const a = c.node.inputs[1];
    if (a) {
      const t = c.constantOf(a);
      if (!t) throw new Error("ReduceSum needs constant axes");
      axes = toNumbers(t);
    }
    if ((!axes || axes.length === 0) && c.node.attrs.noop_with_empty_axes === 1) return [];
  } else {
    axes = c.node.attrs.axes as number[] | undefined;
  }
  if (!axes || axes.length === 0) return Array.from({ length: rank }, (_, i) => i);
  return axes.map((a) => (a < 0 ? a + rank : a)).sort((x, y) => x - y);
}

/** A reduced value (gradient or result) with the reduced axes put back as size 1. */
function keepDims(c: GradContext, v: Expr, axes: number[]): Expr {
  return c.node.attrs.keepdims === 0 && axes.length > 0 ? v.unsqueeze(axes) : v;
}

/** d sum(x) / dx = 1: broadcast g back over the reduced axes. */
function reduceSumGrad(c: GradContext) {
  const axes = reducedAxes(c);
  const g = keepDims(c, gradOf(c, 0), axes);
  return [expandTo(c, g, c.node.inputs[0]).name, undefined];
}

/** d mean(x) / dx = 1 / count. */
function reduceMeanGrad(c: GradContext) {
  const axes = reducedAxes(c);
  const x = c.inputTypes[0]!;
  const g = keepDims(c, gradOf(c, 0), axes);
  let scaled: Expr;
  if (axes.every((a) => typeof x.shape[a] === "number")) {
    const count = axes.reduce((n, a) => n * (x.shape[a] as number), 1);
    scaled = g.mul(1 / count);
  } else {
    // A symbolic reduced dim (the batch N of a mean loss): counted at run time, once per step.
    scaled = g.mul(countOver(c.e, c.graphInputs, inputOf(c, 0), axes, x.dtype, { inverse: true }));
  }
  return [expandTo(c, scaled, c.node.inputs[0]).name];
}

/**
 * d max(x) / dx (and d min(x) / dx): the gradient is shared evenly by the
 * elements equal to the maximum (minimum).
 */
function reduceMaxGrad(c: GradContext) {
  const axes = reducedAxes(c);
  const x = inputOf(c, 0);
  const ones = x.equal(keepDims(c, outputOf(c, 0), axes)).cast(x.dtype);
  const count = ones.sum(axes, true);
  const g = keepDims(c, gradOf(c, 0), axes).div(count);
  return [expandTo(c, g, x).mul(ones).name];
}

/** d sum(x^2) / dx = 2 x. */
function reduceSumSquareGrad(c: GradContext) {
  const axes = reducedAxes(c);
  const x = inputOf(c, 0);
  const g = expandTo(c, keepDims(c, gradOf(c, 0), axes), x);
  return [g.mul(x.mul(2)).name];
}

/** d sqrt(sum(x^2)) / dx = x / y (the subgradient 0 where y = 0). */
function reduceL2Grad(c: GradContext) {
  const axes = reducedAxes(c);
  const x = inputOf(c, 0);
  const y = keepDims(c, outputOf(c, 0), axes);
  const zero = y.equal(0);
  const safeY = zero.where(1, y);
  const gOverY = keepDims(c, gradOf(c, 0), axes).div(safeY);
  const scaled = zero.where(0, gOverY);
  return [expandTo(c, scaled, x).mul(x).name];
}

const REDUCE_GRADS: Record<string, GradRule> = {
  ReduceSum: reduceSumGrad,
  ReduceMean: reduceMeanGrad,
  ReduceMax: reduceMaxGrad,
  // The same tie-sharing rule: the mask compares x with the reduced value.
  ReduceMin: reduceMaxGrad,
  ReduceSumSquare: reduceSumSquareGrad,
  ReduceL2: reduceL2Grad,
};

/** The reduce ops, by name. */
export const REDUCE_OPS: readonly ReduceRow[] = [
  { op: "ReduceL2", since: 13, dtypes: REDUCE_TYPES },
  { op: "ReduceMax", since: 13, dtypes: [...REDUCE_TYPES, "u8", "i8"] },
  { op: "ReduceMean", since: 13, dtypes: REDUCE_TYPES },
  { op: "ReduceMin", since: 13, dtypes: [...REDUCE_TYPES, "u8", "i8"] },
  { op: "ReduceSum", since: 13, dtypes: REDUCE_TYPES, axesInput: true },
  { op: "ReduceSumSquare", since: 13, dtypes: REDUCE_TYPES },
];

/**
 * From opset 18 the axes of every Reduce op are an input: move the `axes`
 * attribute into a Constant node named `<node>/axes` whose value is
 * `<output>_axes`.
 */
export function lowerReduceAxes(node: Node, opset: number): Node[] {
  if (opset < 18) return [node];
  const { axes, ...attrs } = node.attrs;
  if (axes === undefined) return [{ ...node, attrs }];
  const list = axes as number[];
  const name = `${node.outputs[0]}_axes`;
  const constant: Node = {
    name: `${node.name}/axes`,
    op: "Constant",
    inputs: [],
    outputs: [name],
    attrs: { value: tensor("i64", [list.length], list) },
    spans: node.spans,
  };
  return [constant, { ...node, inputs: [node.inputs[0], name], attrs }];
}

/** The reduce ops' table entries, one per row of `REDUCE_OPS`. */
export const reduceOps: readonly OpDef[] = REDUCE_OPS.map((row) => {
  const def: OpDef = {
    op: row.op,
    since: row.since,
    inputs: row.axesInput
      ? [{ name: "data" }, { name: "axes", optional: true }]
      : [{ name: "data" }],
    outputs: [{ name: "reduced" }],
    attrs: row.axesInput
      ? {
        keepdims: { type: "int", default: 1 },
        noop_with_empty_axes: { type: "int", default: 0 },
      }
      : { axes: { type: "ints" }, keepdims: { type: "int", default: 1 } },
    infer(ctx) {
      const x = input(ctx, row.op, 0, "data");
      expectDtype(row.op, "data", x, row.dtypes);
      const keep = intAttr(ctx.attrs, "keepdims", 1) === 1;
      const rank = x.shape.length;
      let axes: number[] | undefined;
      if (row.axesInput && ctx.inputs[1]) {
        const a = ctx.inputs[1];
        expectDtype(row.op, "axes", a, ["i64"]);
        expectRank(row.op, "axes", a, 1);
        axes = constInts(ctx, 1);
        if (!axes) {
          // Unknown axes: the rank is known only when keepdims = 1.
          if (keep) return [{ dtype: x.dtype, shape: x.shape.map(() => freshDim(row.op)) }];
          if (typeof a.shape[0] !== "number") {
            throw new ShapeError(
              ...diag(
                "DLM0231",
                row.op,
                "constant axes, axes of known length or keepdims = 1",
                `axes ${formatType(a)}`,
              ),
            );
          }
          const n = rank - a.shape[0];
          return [{ dtype: x.dtype, shape: Array.from({ length: n }, () => freshDim(row.op)) }];
        }
      } else if (!row.axesInput) {
        axes = intsAttr(ctx.attrs, "axes");
      }
      if (!axes || axes.length === 0) {
        if (row.axesInput && intAttr(ctx.attrs, "noop_with_empty_axes") === 1) {
          return [{ dtype: x.dtype, shape: [...x.shape] }];
        }
        axes = x.shape.map((_, i) => i);
      }
      const set = new Set(normAxes(row.op, axes, rank));
      const shape: Dim[] = [];
      for (const [i, d] of x.shape.entries()) {
        if (!set.has(i)) shape.push(d);
        else if (keep) shape.push(1);
      }
      return [{ dtype: x.dtype, shape }];
    },
  };
  if (!row.axesInput) def.lower = lowerReduceAxes;
  if (REDUCE_GRADS[row.op]) def.grad = REDUCE_GRADS[row.op];
  return def;
});
