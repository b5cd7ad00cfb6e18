/**
 * Small building blocks shared by the gradient rules of `compiler/ops/*.ts`:
 * the node's inputs, outputs and output gradients as expressions, zeros of a
 * value's shape, reshaping a gradient back to an operand's shape. Every
 * helper adds standard ONNX ops through the rule's expression graph `c.e`.
 */
import type { Dim, TensorType, ValueInfo } from "../ir/graph.ts";
import type { Expr, ExprGraph } from "../ir/expr.ts";
import { type DType, tensor } from "../ir/tensor.ts";
import { dimEquals } from "./dims.ts";
import type { GradContext } from "./op_def.ts";

/** Input `i` of the node being differentiated. */
export function inputOf(c: GradContext, i: number): Expr {
  return c.e.v(c.node.inputs[i]);
}
/** Output `i` of the node being differentiated. */
export function outputOf(c: GradContext, i: number): Expr {
  return c.e.v(c.node.outputs[i]);
}
/** The gradient of the loss with respect to output `i` (dL/dY). */
export function gradOf(c: GradContext, i: number): Expr {
  return c.e.v(c.outputGrads[i]);
}

/** The static shape of a type, or undefined when a dim is symbolic. */
export function staticShape(t: TensorType): number[] | undefined {
  return t.shape.every((d): d is number => typeof d === "number") ? t.shape as number[] : undefined;
}

/** A shape tensor for `value`: a constant when its shape is static, else Shape(value). */
export function shapeOf(c: GradContext, value: Expr | string): Expr {
  const v = c.e.v(String(value));
  const s = staticShape(v.type);
  return s ? v.graph.ints(s) : v.shape();
}

/**
 * `g` broadcast by Expand to the shape of `like` (a reduction's gradient back over the reduced
 * axes). The target shape is a constant where it can be: a symbolic dim of `like` at an axis
 * that `g` keeps (the batch N of a pooled [N, C, 1, 1] gradient) is written 1, which Expand
 * broadcasts to g's own size: `g` must be the gradient of a reduction of `like` with its dims
 * kept, whose kept axes have `like`'s sizes at run time. So the result's type keeps `like`'s
 * static dims (where a run-time Shape would give fresh unknown dims to everything downstream,
 * and unbroadcast a ReduceSum over each) and no Shape is read.
 */
export function expandTo(c: GradContext, g: Expr, like: Expr | string): Expr {
  const target = c.typeOf(String(like)).shape;
  const own = g.type.shape;
  const lead = target.length - own.length;
  const dims: number[] = [];
  for (const [i, d] of target.entries()) {
    if (typeof d === "number") dims.push(d);
    // An axis g keeps (not 1) has like's size at run time: g is the gradient of a reduction of
    // like that kept its dims, whose type may name that size otherwise (max(?, N)).
    else if (i >= lead && own[i - lead] !== 1) dims.push(1);
    else return g.expand(shapeOf(c, like));
  }
  return g.expand(dims);
}

/** Zeros with the type of `value`. */
export function zerosLike(c: GradContext, value: Expr | string): Expr {
  const t = c.typeOf(String(value));
  return shapeOf(c, value).op("ConstantOfShape", [], { value: tensor(t.dtype, [1], [0]) });
}

/** `g` reshaped to the shape of `like` (same number of elements). */
export function reshapeLike(c: GradContext, g: Expr | string, like: Expr | string): Expr {
  const e = c.e;
  // With one symbolic dim, a constant shape with -1 there keeps the dim's name (N stays N)
  // where a runtime Shape would give the result a fresh, unrelated dim.
  const shape = c.typeOf(String(like)).shape;
  const symbolic = shape.filter((d) => typeof d !== "number").length;
  if (symbolic === 1 && shape.every((d) => d !== 0)) {
    return e.v(String(g)).reshape(shape.map((d) => (typeof d === "number" ? d : -1)));
  }
  return e.v(String(g)).reshape(shapeOf(c, like));
}

/** Where(cond, g, 0): the gradient where `cond` holds, zero elsewhere. */
export function maskGrad(c: GradContext, cond: Expr | string, g: Expr | string): Expr {
  return c.e.where(cond, g, 0);
}

/**
 * Where(cond, g, 0): the gradient where `cond` holds, zero elsewhere, for the activations' hot
 * paths (Relu, Dropout, Clip), as PyTorch's threshold_backward (an infinite or NaN g gives 0
 * where masked). Two nodes where g * Cast(cond) takes three. onnxruntime 1.30 runs Where a little
 * slower than Cast and Mul together on large tensors (0.91 against 0.67 ms for 1M floats, 0.17
 * against 0.14 ms for 262K, one thread) and as fast at the training benchmark's usual sizes
 * (0.04 ms for 65K floats); a step's node count, which its session's creation time follows,
 * drops by one per activation.
 */
export function maskWhere(c: GradContext, cond: Expr | string, g: Expr | string): Expr {
  const e = c.e;
  return e.v(String(cond)).where(e.v(String(g)), 0);
}

/** Normalise a possibly negative axis. */
export function axisOf(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** A gradient rule's limit on its input (not a bug): autodiff reports it as DLM0417. */
export class GradLimit extends Error {
  constructor(message: string, readonly dim?: string) {
    super(message);
    this.name = "GradLimit";
  }
}

/** A dim as a number, or a GradLimit naming what needed it. */
export function needStatic(d: Dim, op: string, what: string): number {
  if (typeof d !== "number") {
    throw new GradLimit(
      `The gradient of ${op} needs a known ${what}, found symbolic dim '${d}'`,
      d,
    );
  }
  return d;
}

/**
 * The backward pass of a normalisation over `axes` (LayerNormalization,
 * BatchNormalization in training mode): with xhat = (x - mean) rstd,
 * rstd = 1 / sqrt(var + eps) and dxhat = g gamma,
 * dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)).
 * Returns dx and xhat (for the scale's gradient).
 */
export function normalizeGrad(
  x: Expr,
  g: Expr,
  gamma: Expr | string,
  axes: number[],
  eps: number,
): { dx: Expr; xhat: Expr } {
  const mean = (v: Expr) => v.mean(axes, true);
  const xc = x.sub(mean(x));
  const variance = mean(xc.square());
  const rstd = variance.add(eps).sqrt().reciprocal();
  const xhat = xc.mul(rstd);
  const dxhat = g.mul(gamma);
  const inner = dxhat.sub(mean(dxhat)).sub(xhat.mul(mean(dxhat.mul(xhat))));
  return { dx: rstd.mul(inner), xhat };
}

/**
 * The run-time size of the symbolic dim `dim` as an i64 tensor of shape [1], read by `Shape` from
 * the first of `inputs` (a graph's inputs) that declares it; undefined when none does. Every
 * caller that asks for the batch N reads the same node of the same input, so cse leaves one.
 */
export function inputDimSize(
  e: ExprGraph,
  inputs: readonly ValueInfo[],
  dim: string,
): Expr | undefined {
  for (const i of inputs) {
    const a = i.type.shape.findIndex((d) => typeof d === "string" && dimEquals(d, dim));
    if (a >= 0) return e.v(i.name).op("Shape", [], { start: a, end: a + 1 });
  }
  return undefined;
}

/**
 * The number of elements M of `x` over `axes` (the count of a mean over them), or with
 * `inverse` 1/M, as `dtype`: a scalar constant when those dims are static. Otherwise (the batch
 * N of a training step) it is computed at run time as a [1] tensor,
 *
 *   M = p * d1 * ... * dk        1/M = (1/p) / (d1 * ... * dk)
 *
 * with p the product of the static dims and d1..dk the symbolic ones (in sorted order), each read
 * from the graph's inputs (`inputDimSize`) or, when no input declares it, from `x` itself. Read
 * from the inputs, the count depends only on the dims: every layer whose reduced dims are
 * N x 8 x 8 computes the same nodes, which cse merges, so a step counts its batch once per
 * distinct map size, not once per layer.
 */
export function countOver(
  e: ExprGraph,
  inputs: readonly ValueInfo[],
  x: Expr,
  axes: readonly number[],
  dtype: DType,
  opts: { inverse?: boolean } = {},
): Expr {
  const shape = x.type.shape;
  let p = 1;
  const symbolic: { dim: string; axis: number }[] = [];
  for (const a of axes) {
    const d = shape[a];
    if (typeof d === "number") p *= d;
    else symbolic.push({ dim: d, axis: a });
  }
  if (symbolic.length === 0) return e.scalar(opts.inverse ? 1 / p : p, dtype);
  symbolic.sort((s, t) => (s.dim < t.dim ? -1 : s.dim > t.dim ? 1 : s.axis - t.axis));
  let n: Expr | undefined;
  for (const s of symbolic) {
    const size = inputDimSize(e, inputs, s.dim) ??
      x.op("Shape", [], { start: s.axis, end: s.axis + 1 });
    n = n ? n.mul(size) : size;
  }
  const count = n!.cast(dtype);
  if (opts.inverse) return e.scalar(1 / p, dtype).div(count);
  return p === 1 ? count : count.mul(e.scalar(p, dtype));
}
