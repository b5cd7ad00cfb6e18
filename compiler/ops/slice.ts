/**
 * Slice (opset 13): for each listed axis, the elements start, start + step,
 * ... before end, with numpy clamping:
 *   step > 0: start, end clamped to [0, dim];   len = max(ceil((end - start) / step), 0)
 *   step < 0: start, end clamped to [-1, dim-1]; len = max(ceil((start - end) / -step), 0)
 * A symbolic dim is sliced assuming the bounds lie inside it (e.g. 1:-1 of
 * H gives H - 2); bounds past INT32 range mean "to the end".
 */
import { type Dim, formatType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { dimAdd, dimDiv, dimSub } from "./dims.ts";
import { constInts, expectDtype, expectRank, freshDim, INDEX, input, normAxes } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { gradOf, needStatic } from "./grad_util.ts";
import type { Expr } from "../ir/expr.ts";
import { table } from "../ir/tensor.ts";
import { diag } from "../diagnostics.ts";

/** |bound| at or beyond this means "past the end" (ONNX exporters use INT_MAX / INT64_MAX). */
const HUGE = 2 ** 31 - 1;

/** Length of one sliced axis. */
export function sliceLength(dim: Dim, start: number, end: number, step: number): Dim {
  if (typeof dim === "number") {
    const clamp = (v: number, lo: number, hi: number) =>
      Math.min(Math.max(v < 0 ? v + dim : v, lo), hi);
    if (step > 0) {
      const s = clamp(start, 0, dim), e = clamp(end, 0, dim);
      return Math.max(Math.ceil((e - s) / step), 0);
    }
    const s = clamp(start, -1, dim - 1), e = clamp(end, -1, dim - 1);
    return Math.max(Math.ceil((s - e) / -step), 0);
  }
  if (step > 0) {
    const s: Dim = start >= HUGE
      ? dim
      : start < 0
      ? (start <= -HUGE ? 0 : dimAdd(dim, start))
      : start;
    const e: Dim = end >= HUGE ? dim : end < 0 ? (end <= -HUGE ? 0 : dimAdd(dim, end)) : end;
    const len = dimDiv(dimSub(e, s), step, "ceil");
    return typeof len === "number" ? Math.max(len, 0) : len;
  }
  const s: Dim = start >= HUGE
    ? dimSub(dim, 1)
    : start < 0
    ? (start <= -HUGE ? -1 : dimAdd(dim, start))
    : start;
  const e: Dim = end >= HUGE
    ? dimSub(dim, 1)
    : end < 0
    ? (end <= -HUGE ? -1 : dimAdd(dim, end))
    : end;
  const len = dimDiv(dimSub(s, e), -step, "ceil");
  return typeof len === "number" ? Math.max(len, 0) : len;
}

export const sliceOp: OpDef = {
  op: "Slice",
  grad: sliceGrad,
  since: 13,
  inputs: [
    { name: "data" },
    { name: "starts" },
    { name: "ends" },
    { name: "axes", optional: true },
    { name: "steps", optional: true },
  ],
  outputs: [{ name: "output" }],
  attrs: {},
  infer(ctx) {
    const x = input(ctx, "Slice", 0, "data");
    const ports = ["starts", "ends", "axes", "steps"];
    for (let i = 1; i < 5; i++) {
      const t = i < 3 ? input(ctx, "Slice", i, ports[i - 1]) : ctx.inputs[i];
      if (!t) continue;
      expectDtype("Slice", ports[i - 1], t, INDEX);
      expectRank("Slice", ports[i - 1], t, 1);
    }
    const rank = x.shape.length;
    const starts = constInts(ctx, 1);
    const ends = constInts(ctx, 2);
    const axesIn = ctx.inputs[3] ? constInts(ctx, 3) : undefined;
    const stepsIn = ctx.inputs[4] ? constInts(ctx, 4) : undefined;
    const axesKnown = !ctx.inputs[3] || axesIn !== undefined;
    if (!axesKnown) return [{ dtype: x.dtype, shape: x.shape.map(() => freshDim("Slice")) }];
    const n = starts?.length ?? ends?.length ??
      (typeof ctx.inputs[1]!.shape[0] === "number" ? ctx.inputs[1]!.shape[0] : rank);
    const axes = normAxes("Slice", axesIn ?? Array.from({ length: n }, (_, i) => i), rank);
    const shape = [...x.shape];
    if (!starts || !ends || (ctx.inputs[4] && !stepsIn)) {
      for (const a of axes) shape[a] = freshDim("Slice");
      return [{ dtype: x.dtype, shape }];
    }
    const steps = stepsIn ?? axes.map(() => 1);
    if (
      starts.length !== axes.length || ends.length !== axes.length || steps.length !== axes.length
    ) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "Slice",
          "starts, ends, axes and steps of one length",
          `${starts.length}, ${ends.length}, ${axes.length} and ${steps.length}`,
        ),
      );
    }
    for (const [i, a] of axes.entries()) {
      if (steps[i] === 0) {
        throw new ShapeError(
          ...diag(
            "DLM0227",
            "Slice",
            "non-zero steps",
            `[${steps.join(", ")}] for ${formatType(x)}`,
          ),
        );
      }
      shape[a] = sliceLength(x.shape[a], starts[i], ends[i], steps[i]);
    }
    return [{ dtype: x.dtype, shape }];
  },
};

/**
 * The gradient scatters g back into zeros of the input's extent: along axes
 * with step 1 by padding, along strided axes (Swin's x[:, 0::2]) by a
 * product with the transposed 0/1 selection matrix of that axis. A strided
 * axis must have a known size; the others may be symbolic.
 *
 * A step-1 slice x[s:e] of a symbolic axis (the batch: `y[1:] - y[:1]` in a
 * loss) has no constant padding in general (after x[:1] comes N - 1 of zeros),
 * so its gradient is a concatenation along the axis,
 *   dx = concat(0 · x[:s], g, 0 · x[e:]),
 * which is exact because x = concat(x[:s], x[s:e], x[e:]) for bounds inside the
 * axis (what the forward shape rule assumes, too). The zero parts take their
 * shapes from those slices of x, so their types are x's dims and N - 1 + 1
 * simplifies back to N: the gradient's type is exactly x's, with no Shape read.
 * 0 · v is written Cast(v < v), which is 0 for every v, NaN and infinities
 * included. A part known to be empty (s = 0, e past the end) is left out, and
 * a slice whose bounds both pad by a constant (x[1:], x[:-1]) is still one Pad.
 */
function sliceGrad(c: GradContext) {
  const [data, starts, ends, axesIn, stepsIn] = c.node.inputs;
  const x = c.inputTypes[0]!;
  const rank = x.shape.length;
  const known = (v: string | undefined, what: string) => {
    const t = v ? c.constantOf(v) : undefined;
    if (v && !t) throw new Error(`Slice needs constant ${what}`);
    return t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined;
  };
  const s = known(starts, "starts")!;
  const e = known(ends, "ends")!;
  const axes = (known(axesIn, "axes") ?? s.map((_, i) => i)).map((a) => (a < 0 ? a + rank : a));
  const steps = known(stepsIn, "steps") ?? s.map(() => 1);
  let g = gradOf(c, 0);
  const pads = new Array<number>(2 * rank).fill(0);
  /** The symbolic step-1 axes whose padding is not constant: by index into `axes`. */
  const open: number[] = [];
  axes.forEach((a, i) => {
    const dim = x.shape[a];
    if (typeof dim !== "number" && steps[i] === 1) {
      // Constant padding when the start counts from the front and the end from the back.
      const before = s[i] <= -HUGE ? 0 : s[i] >= 0 ? s[i] : undefined;
      const after = e[i] >= HUGE ? 0 : e[i] < 0 && e[i] > -HUGE ? -e[i] : undefined;
      if (before === undefined || after === undefined) open.push(i);
      else {
        pads[a] = before;
        pads[a + rank] = after;
      }
      return;
    }
    const d = needStatic(dim, "Slice", `dim ${a}`);
    const picks = slicePicks(d, s[i], e[i], steps[i]);
    if (steps[i] === 1) {
      const b = picks.count > 0 ? picks.first : 0;
      pads[a] = b;
      pads[a + rank] = d - b - picks.count;
      return;
    }
    g = unselect(g, a, rank, d, picks, steps[i]);
  });
  if (pads.some((p) => p !== 0)) g = g.op("Pad", [g.graph.ints(pads)]);
  const xv = c.e.v(data);
  open.forEach((i, k) => {
    // g is whole along every axis but the open ones from k on: the zero parts are sliced alike.
    const rest = open.slice(k + 1);
    const part = (from: number, to: number): Expr => {
      const sl = xv.op("Slice", [
        g.graph.ints([from, ...rest.map((j) => s[j])]),
        g.graph.ints([to, ...rest.map((j) => e[j])]),
        g.graph.ints([axes[i], ...rest.map((j) => axes[j])]),
      ]);
      return sl.less(sl).cast(g.dtype);
    };
    const pieces: Expr[] = [];
    if (s[i] !== 0 && s[i] > -HUGE) pieces.push(part(0, s[i]));
    pieces.push(g);
    if (e[i] < HUGE) pieces.push(part(e[i], HUGE));
    g = pieces.length === 1 ? g : g.graph.op1("Concat", pieces, { axis: axes[i] });
  });
  return [g.name];
}

/**
 * The input indices a strided slice of one axis of size d picks: `first`, first + step, ...,
 * `count` of them (computed, not listed: an axis may be long).
 */
function slicePicks(
  d: number,
  start: number,
  end: number,
  step: number,
): { first: number; count: number } {
  const norm = (v: number) => (v < 0 ? v + d : v);
  const [lo, hi] = step > 0 ? [0, d] : [-1, d - 1];
  const first = Math.min(Math.max(norm(start), lo), hi);
  const stop = Math.min(Math.max(norm(end), lo), hi);
  return { first, count: Math.max(0, Math.ceil((stop - first) / step)) };
}

/**
 * g with axis `a` (holding the picked elements) spread back to size d: g ×_a Sᵀ, where
 * S[r, j] = 1 when pick r is index j.
 */
function unselect(
  g: Expr,
  a: number,
  rank: number,
  d: number,
  { first, count }: { first: number; count: number },
  step: number,
): Expr {
  const S = g.graph.constant(
    table(
      g.dtype,
      [count, d],
      "Slice's gradient",
      (k) => first + Math.floor(k / d) * step === k % d ? 1 : 0,
    ),
  );
  if (a === rank - 1) return g.matmul(S);
  const perm = [...Array(rank).keys()].filter((q) => q !== a).concat([a]);
  const inv = perm.map((_, q) => perm.indexOf(q));
  return g.transpose(perm).matmul(S).transpose(inv);
}
