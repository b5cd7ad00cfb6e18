/**
 * Built-in functions: stateless operations on tensors (activations, pooling,
 * shape operations, merging branches) and on compile-time values (min, len,
 * range, enumerate...). In a pipe, `x |> f(a)` calls `f(x, a)`.
 */
import { diag } from "../../diagnostics.ts";
import { formatType } from "../../ir/graph.ts";
import { type DType, DTYPES, table, type Tensor, tensor, TENSOR_DTYPES } from "../../ir/tensor.ts";
import type { Ctx } from "../context.ts";
import { expandInts, num, type ParamSig } from "../signature.ts";
import { ERROR, type TensorValue, type Value } from "../values.ts";
import { B, fl, i, t, withGraph, X } from "./util.ts";
import { DLM_DOMAIN } from "../../ops/stop_gradient.ts";

export interface FnDef {
  name: string;
  doc: string;
  sig: ParamSig[];
  /**
   * The function is scaled dot-product attention over its q, k, v (and
   * optional mask) arguments: prefix tuning prepends learned keys and
   * values to k and v (and widens the mask) at each call under a target.
   */
  attention?: boolean;
  apply(ctx: Ctx, args: Record<string, Value>): Value;
}

/** One node with one output, or the poison value when the op reported an error. */
function one(
  ctx: Ctx,
  op: string,
  inputs: string[],
  attrs: Record<string, number | number[] | string> = {},
): Value {
  return withGraph(ctx, (e) => e.op1(op, inputs, attrs)) ?? ERROR;
}

function unary(
  name: string,
  op: string,
  doc: string,
  attrs?: (a: Record<string, Value>) => Record<string, number>,
  extra: ParamSig[] = [],
): FnDef {
  return {
    name,
    doc,
    sig: [X, ...extra],
    apply: (ctx, a) => one(ctx, op, [t(a.x).v], attrs ? attrs(a) : {}),
  };
}

/**
 * `x` unchanged, but a constant to the backward pass: gradients do not
 * flow through the result back to `x` (dlm's StopGradient, emitted as
 * ONNX Identity).
 */
function stopGradient(name: string, doc: string): FnDef {
  return {
    name,
    doc,
    sig: [X],
    apply: (ctx, a) => ctx.op("StopGradient", [t(a.x).v], {}, { domain: DLM_DOMAIN })?.[0] ?? ERROR,
  };
}

function floatOnly(ctx: Ctx, x: TensorValue, name: string): boolean {
  if (x.t.dtype === "f32" || x.t.dtype === "f64" || x.t.dtype === "f16" || x.t.dtype === "bf16") {
    return true;
  }
  ctx.error(...diag("DLM0207", `${name}()`, "a floating-point tensor", formatType(x.t)));
  return false;
}

function axisArg(ctx: Ctx, x: TensorValue, axis: number, name: string): number | undefined {
  const r = x.t.shape.length;
  if (axis < -r || axis >= Math.max(r, 1)) {
    ctx.error(
      ...diag("DLM0213", `${name}()`, axis, formatType(x.t)),
      ctx.argSpan("axis"),
    );
    return undefined;
  }
  return axis < 0 ? axis + r : axis;
}

function pool(name: string, op: "MaxPool" | "AveragePool"): FnDef {
  return {
    name,
    doc: `${
      op === "MaxPool" ? "Max" : "Average"
    } pooling over the spatial dims; stride defaults to the kernel.`,
    sig: [
      X,
      { name: "kernel", type: "ints" },
      { name: "stride", type: "ints", optional: true },
      { name: "pad", type: "ints", default: i(0) },
      { name: "ceil", type: "bool", default: B(false) },
      ...(op === "AveragePool"
        ? [{ name: "count_pad", type: "bool" as const, default: B(true) }]
        : []),
      ...(op === "MaxPool" ? [{ name: "dilation", type: "ints" as const, default: i(1) }] : []),
    ],
    apply(ctx, a) {
      const x = t(a.x);
      const sd = x.t.shape.length - 2;
      if (sd < 1) {
        return ctx.error(
          ...diag("DLM0203", `${name}()`, "an input [N, C, ...spatial]", formatType(x.t)),
        );
      }
      const k = expandInts(a.kernel, sd);
      const s = a.stride ? expandInts(a.stride, sd) : k;
      const p = expandInts(a.pad, sd);
      if (k.length !== sd || s.length !== sd) {
        return ctx.error(
          ...diag(
            "DLM0210",
            `${name}()`,
            `${sd} kernel and stride sizes for ${formatType(x.t)}`,
            `(${k.join(", ")}) and (${s.join(", ")})`,
          ),
          ctx.argSpan("kernel"),
        );
      }
      const pads = p.length === 2 * sd ? p : [...p, ...p];
      const attrs: Record<string, number | number[]> = { kernel_shape: k, strides: s, pads };
      if (a.ceil.k === "bool" && a.ceil.v) attrs.ceil_mode = 1;
      // PyTorch counts padding in averages by default; ONNX does not.
      if (
        op === "AveragePool" && a.count_pad.k === "bool" && a.count_pad.v && pads.some((v) => v)
      ) attrs.count_include_pad = 1;
      if (op === "MaxPool") {
        const d = expandInts(a.dilation, sd);
        if (d.some((v) => v !== 1)) attrs.dilations = d;
      }
      return one(ctx, op, [x.v], attrs);
    },
  };
}

function reduce(name: string, op: string): FnDef {
  return {
    name,
    doc: `${op} over the given axes (all axes when none are given).`,
    sig: [X, { name: "axes", type: "ints", optional: true }, {
      name: "keepdims",
      type: "bool",
      default: B(false),
    }],
    apply(ctx, a) {
      const x = t(a.x);
      const attrs: Record<string, number | number[]> = {
        keepdims: a.keepdims.k === "bool" && a.keepdims.v ? 1 : 0,
      };
      if (a.axes) attrs.axes = expandInts(a.axes, 1);
      if (op === "ReduceSum") {
        // ReduceSum takes its axes as an input since opset 13.
        const ax = a.axes
          ? [ctx.constant(tensor("i64", [expandInts(a.axes, 1).length], expandInts(a.axes, 1))).v]
          : [];
        return one(ctx, op, [x.v, ...ax], { keepdims: attrs.keepdims as number });
      }
      return one(ctx, op, [x.v], attrs);
    },
  };
}

function variadic(name: string, op: string, doc: string): FnDef {
  return {
    name,
    doc,
    sig: [{ name: "xs", type: "tensors", variadic: true }],
    apply(ctx, a) {
      const xs = (a.xs as { items: Value[] }).items.map(t);
      if (xs.length === 0) return ctx.error(...diag("DLM0223", `${name}()`, "at least one tensor"));
      if (xs.length === 1) return xs[0];
      return one(ctx, op, xs.map((x) => x.v));
    },
  };
}

function randomLike(name: string, op: string, doc: string): FnDef {
  return {
    name,
    doc,
    sig: [X],
    apply(ctx, a) {
      const x = t(a.x);
      if (!floatOnly(ctx, x, name)) return ERROR;
      return one(ctx, op, [x.v], { seed: ctx.seedFor(name) });
    },
  };
}

/** Adaptive-pooling bins as an [o, n] averaging matrix (or its transpose, [n, o]). */
function binMatrix(o: number, n: number, transposed: boolean): Tensor {
  const t = table("f32", transposed ? [n, o] : [o, n], "adaptive_avg_pool()'s pooling matrix");
  const m = t.data as Float32Array;
  for (let i = 0; i < o; i++) {
    const a = Math.floor((i * n) / o), b = Math.ceil(((i + 1) * n) / o);
    for (let j = a; j < b; j++) m[transposed ? j * o + i : i * n + j] = 1 / (b - a);
  }
  return t;
}

const DTYPE_NAMES = new Set<string>(TENSOR_DTYPES);

const defs: FnDef[] = [
  unary("relu", "Relu", "max(x, 0)"),
  unary("tanh", "Tanh", "Hyperbolic tangent."),
  unary("sigmoid", "Sigmoid", "1 / (1 + exp(-x))"),
  unary("exp", "Exp", "e^x"),
  unary("log", "Log", "Natural logarithm."),
  unary("sqrt", "Sqrt", "Square root."),
  unary("abs", "Abs", "|x|"),
  unary("neg", "Neg", "-x"),
  unary("floor", "Floor", "Round down."),
  unary("ceil", "Ceil", "Round up."),
  unary("sin", "Sin", "Sine."),
  unary("cos", "Cos", "Cosine."),
  unary("erf", "Erf", "Error function."),
  unary("reciprocal", "Reciprocal", "1 / x"),
  unary("softplus", "Softplus", "log(1 + exp(x))"),
  {
    name: "log_sigmoid",
    doc:
      "log(sigmoid(x)) as torch's logsigmoid, in the stable form -softplus(-x): no overflow or " +
      "loss of precision for large |x|.",
    sig: [X],
    apply(ctx, a) {
      const x = t(a.x);
      if (!floatOnly(ctx, x, "log_sigmoid")) return ERROR;
      // log(1 / (1 + e^-x)) = -log(1 + e^-x) = -softplus(-x), whose gradient the chain rule
      // gives as sigmoid(-x) = 1 - sigmoid(x) from Neg's and Softplus's rules.
      return withGraph(ctx, (e) => e.tensor(x).neg().op("Softplus").neg()) ?? ERROR;
    },
  },
  unary("identity", "Identity", "x unchanged."),
  stopGradient(
    "stop_gradient",
    "x unchanged, but training treats the result as a constant: no gradient flows back through " +
      "it to x. For targets computed from the model's own outputs, or a branch that must not learn.",
  ),
  stopGradient("detach", "Same as stop_gradient(x) (PyTorch's name)."),
  unary("hardswish", "HardSwish", "x * relu6(x + 3) / 6"),
  unary(
    "leaky_relu",
    "LeakyRelu",
    "x if x > 0 else alpha * x (alpha 0.01)",
    (a) => ({ alpha: num(a.alpha) }),
    [
      { name: "alpha", type: "float", default: fl(0.01) },
    ],
  ),
  unary("elu", "Elu", "x if x > 0 else alpha * (exp(x) - 1)", (a) => ({ alpha: num(a.alpha) }), [
    { name: "alpha", type: "float", default: fl(1) },
  ]),
  unary("selu", "Selu", "Scaled ELU (self-normalising)."),
  unary(
    "hard_sigmoid",
    "HardSigmoid",
    "max(0, min(1, alpha * x + beta))",
    (a) => ({ alpha: num(a.alpha), beta: num(a.beta) }),
    [
      { name: "alpha", type: "float", default: fl(1 / 6) },
      { name: "beta", type: "float", default: fl(0.5) },
    ],
  ),
  {
    name: "relu6",
    doc: "min(max(x, 0), 6)",
    sig: [X],
    apply: (ctx, a) => {
      const x = t(a.x);
      return one(ctx, "Clip", [x.v, ctx.scalar(0, x.t.dtype).v, ctx.scalar(6, x.t.dtype).v]);
    },
  },
  {
    name: "clip",
    doc: "min(max(x, min), max)",
    sig: [X, { name: "min", type: "number", optional: true }, {
      name: "max",
      type: "number",
      optional: true,
    }],
    apply: (ctx, a) => {
      const x = t(a.x);
      return one(ctx, "Clip", [
        x.v,
        a.min ? ctx.scalar(num(a.min), x.t.dtype).v : "",
        a.max ? ctx.scalar(num(a.max), x.t.dtype).v : "",
      ]);
    },
  },
  {
    name: "gelu",
    doc:
      'x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (exact form); approximate: "tanh" gives 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (GPT-2).',
    sig: [X, { name: "approximate", type: "str", default: { k: "str", v: "none" } }],
    apply: (ctx, a) => {
      const x = t(a.x);
      if (!floatOnly(ctx, x, "gelu")) return ERROR;
      const approx = (a.approximate as { v: string }).v;
      if (approx !== "none" && approx !== "tanh") {
        return ctx.error(
          ...diag("DLM0214", "gelu() approximate", '"none" or "tanh"', `${approx}`),
          ctx.argSpan("approximate"),
        );
      }
      return withGraph(ctx, (e) => {
        const xv = e.tensor(x);
        if (approx === "tanh") {
          // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
          const inner = xv.add(xv.square().mul(xv).mul(0.044715));
          const p1 = inner.mul(Math.sqrt(2 / Math.PI)).tanh().add(1);
          return xv.mul(0.5).mul(p1);
        }
        // x (1 + erf(x / sqrt 2)) 0.5
        return xv.mul(xv.div(Math.SQRT2).op("Erf").add(1)).mul(0.5);
      }) ?? ERROR;
    },
  },
  {
    name: "silu",
    doc: "x * sigmoid(x) (swish).",
    sig: [X],
    apply: (ctx, a) => {
      const x = t(a.x);
      return withGraph(ctx, (e) => e.tensor(x).mul(e.tensor(x).sigmoid())) ?? ERROR;
    },
  },
  {
    name: "softmax",
    doc: "exp(x) / sum(exp(x)) along axis (default -1).",
    sig: [X, { name: "axis", type: "int", default: i(-1) }],
    apply: (ctx, a) => one(ctx, "Softmax", [t(a.x).v], { axis: num(a.axis) }),
  },
  {
    name: "log_softmax",
    doc: "log(softmax(x)) along axis (default -1).",
    sig: [X, { name: "axis", type: "int", default: i(-1) }],
    apply: (ctx, a) => one(ctx, "LogSoftmax", [t(a.x).v], { axis: num(a.axis) }),
  },
  {
    name: "flatten",
    doc: "Collapse dims from `start` (default 1) on: [N, C, H, W] -> [N, C*H*W].",
    sig: [X, { name: "start", type: "int", default: i(1) }],
    apply: (ctx, a) => {
      const x = t(a.x);
      const ax = axisArg(ctx, x, num(a.start), "flatten");
      return ax === undefined ? ERROR : one(ctx, "Flatten", [x.v], { axis: ax });
    },
  },
  {
    name: "reshape",
    doc: "New shape; one dim may be -1, 0 keeps the input's dim.",
    sig: [X, { name: "shape", type: "ints", variadic: false }],
    apply: (ctx, a) => {
      const x = t(a.x);
      const s = expandInts(a.shape, 1);
      return one(ctx, "Reshape", [x.v, ctx.constant(tensor("i64", [s.length], s)).v]);
    },
  },
  {
    name: "transpose",
    doc: "Permute dims: transpose(x, (0, 2, 1)); without perm, reverse them.",
    sig: [X, { name: "perm", type: "ints", optional: true }],
    apply: (ctx, a) => {
      const x = t(a.x);
      const r = x.t.shape.length;
      const perm = a.perm ? expandInts(a.perm, r) : [...Array(r).keys()].reverse();
      const ok = perm.length === r && [...perm].sort((p, q) => p - q).every((v, k) => v === k);
      if (!ok) {
        return ctx.error(
          ...diag("DLM0233", "transpose()", r - 1, formatType(x.t), perm.join(", ")),
          ctx.argSpan("perm"),
        );
      }
      return one(ctx, "Transpose", [x.v], { perm });
    },
  },
  {
    name: "squeeze",
    doc: "Remove size-1 dims (the given axes, or all).",
    sig: [X, { name: "axes", type: "ints", optional: true }],
    apply: (ctx, a) => {
      const x = t(a.x);
      if (!a.axes) return one(ctx, "Squeeze", [x.v]);
      const ax = expandInts(a.axes, 1);
      return one(ctx, "Squeeze", [x.v, ctx.constant(tensor("i64", [ax.length], ax)).v]);
    },
  },
  {
    name: "unsqueeze",
    doc: "Insert size-1 dims at the given axes.",
    sig: [X, { name: "axes", type: "ints" }],
    apply: (ctx, a) => {
      const ax = expandInts(a.axes, 1);
      return one(ctx, "Unsqueeze", [t(a.x).v, ctx.constant(tensor("i64", [ax.length], ax)).v]);
    },
  },
  pool("max_pool", "MaxPool"),
  pool("avg_pool", "AveragePool"),
  {
    name: "global_avg_pool",
    doc: "Mean over the spatial dims, keeping them as 1: [N, C, H, W] -> [N, C, 1, 1].",
    sig: [X],
    apply: (ctx, a) => one(ctx, "GlobalAveragePool", [t(a.x).v]),
  },
  {
    name: "global_max_pool",
    doc: "Max over the spatial dims, keeping them as 1.",
    sig: [X],
    apply: (ctx, a) => one(ctx, "GlobalMaxPool", [t(a.x).v]),
  },
  {
    name: "adaptive_avg_pool",
    doc: "Average pooling to a fixed output size; size 1 is global average pooling.",
    sig: [X, { name: "size", type: "ints", default: i(1) }],
    apply: (ctx, a) => {
      const x = t(a.x);
      const sd = x.t.shape.length - 2;
      if (sd < 1) {
        return ctx.error(
          ...diag("DLM0203", "adaptive_avg_pool()", "an input [N, C, ...spatial]", formatType(x.t)),
        );
      }
      const out = expandInts(a.size, sd);
      if (out.length !== sd || out.some((v) => v < 1)) {
        return ctx.error(
          ...diag(
            "DLM0210",
            "adaptive_avg_pool()",
            `${sd} positive output size${sd > 1 ? "s" : ""} for ${formatType(x.t)}`,
            `(${out.join(", ")})`,
          ),
          ctx.argSpan("size"),
        );
      }
      if (out.every((v) => v === 1)) return one(ctx, "GlobalAveragePool", [x.v]);
      const ins = x.t.shape.slice(2);
      if (ins.some((d) => typeof d !== "number")) {
        return ctx.error(
          ...diag(
            "DLM0203",
            `adaptive_avg_pool() to (${out.join(", ")})`,
            "known spatial dims",
            formatType(x.t),
          ),
        );
      }
      if (ins.every((d, k) => (d as number) % out[k] === 0)) {
        const k = ins.map((d, j) => (d as number) / out[j]);
        return one(ctx, "AveragePool", [x.v], {
          kernel_shape: k,
          strides: k,
          pads: Array(2 * sd).fill(0),
        });
      }
      if (sd !== 2) {
        return ctx.error(
          ...diag(
            "DLM0203",
            `adaptive_avg_pool() to (${out.join(", ")})`,
            "spatial dims divisible by it",
            formatType(x.t),
          ),
        );
      }
      // PyTorch's bins: output i averages input [floor(i*n/o), ceil((i+1)*n/o)). As matrices:
      // y = P_h x P_w^T with P[i, j] = 1/len(bin i) for j in bin i.
      const [h, w] = ins as number[];
      const ph = ctx.constant(binMatrix(out[0], h, false));
      const pw = ctx.constant(binMatrix(out[1], w, true));
      return withGraph(ctx, (e) => e.tensor(ph).matmul(x.v).matmul(pw.v)) ?? ERROR;
    },
  },
  {
    name: "lrn",
    doc: "Local response normalisation across channels (AlexNet).",
    sig: [
      X,
      { name: "size", type: "int", default: i(5) },
      { name: "alpha", type: "float", default: fl(1e-4) },
      { name: "beta", type: "float", default: fl(0.75) },
      { name: "k", type: "float", default: fl(1) },
    ],
    apply: (ctx, a) =>
      one(ctx, "LRN", [t(a.x).v], {
        size: num(a.size),
        alpha: num(a.alpha),
        beta: num(a.beta),
        bias: num(a.k),
      }),
  },
  {
    name: "dropout",
    doc:
      "Zero elements with probability p in train mode (scaling by 1/(1-p)); identity in eval mode.",
    sig: [X, { name: "p", type: "float", default: fl(0.5) }],
    apply: (ctx, a) => {
      const x = t(a.x);
      const p = num(a.p);
      if (p < 0 || p >= 1) {
        return ctx.error(...diag("DLM0210", "dropout()", "0 <= p < 1", p), ctx.argSpan("p"));
      }
      if (ctx.mode === "eval") return one(ctx, "Dropout", [x.v]);
      const ratio = ctx.scalar(p, x.t.dtype);
      const train = ctx.constant(tensor("bool", [], [1]));
      // The mask output too: the gradient of dropout is the same mask (compiler/grad).
      const r = ctx.op("Dropout", [x.v, ratio.v, train.v], { seed: ctx.seedFor("dropout") }, {
        nOutputs: 2,
      });
      return r ? r[0] : ERROR;
    },
  },
  {
    name: "drop_path",
    doc:
      "Stochastic depth: in train mode drop the whole branch per sample with probability p (scaling by 1/(1-p)); identity in eval mode.",
    sig: [X, { name: "p", type: "float", default: fl(0.1) }],
    apply: (ctx, a) => {
      const x = t(a.x);
      const p = num(a.p);
      if (p < 0 || p >= 1) {
        return ctx.error(...diag("DLM0210", "drop_path()", "0 <= p < 1", p), ctx.argSpan("p"));
      }
      if (ctx.mode === "eval" || p === 0) return x;
      if (!floatOnly(ctx, x, "drop_path")) return ERROR;
      // keep = floor(u + (1 - p)) with u ~ U[0, 1) per sample: 1 with probability 1 - p.
      // The per-sample noise has the shape [N, 1, ...] of a corner slice of x, so N stays symbolic.
      const r = x.t.shape.length;
      const rest = [...Array(r - 1).keys()].map((k) => k + 1);
      return withGraph(ctx, (e) => {
        const xv = e.tensor(x);
        const corner = r > 1
          ? xv.op("Slice", [e.ints(rest.map(() => 0)), e.ints(rest.map(() => 1)), e.ints(rest)])
          : xv;
        const u = corner.op("RandomUniformLike", [], { seed: ctx.seedFor("drop_path") });
        const keep = u.add(1 - p).op("Floor");
        return xv.div(1 - p).mul(keep);
      }) ?? ERROR;
    },
  },
  {
    name: "concat",
    doc: "Join tensors along an axis (default 1, the channels).",
    sig: [{ name: "xs", type: "tensors", variadic: true }, {
      name: "axis",
      type: "int",
      default: i(1),
    }],
    apply: (ctx, a) => {
      const xs = (a.xs as { items: Value[] }).items.map(t);
      if (xs.length === 0) return ctx.error(...diag("DLM0223", "concat()", "at least one tensor"));
      if (xs.length === 1) return xs[0];
      const ax = axisArg(ctx, xs[0], num(a.axis), "concat");
      return ax === undefined ? ERROR : one(ctx, "Concat", xs.map((x) => x.v), { axis: ax });
    },
  },
  variadic("join", "Mean", "FractalNet's join: the elementwise mean of the branches."),
  variadic("mean", "Mean", "Elementwise mean of tensors."),
  variadic("sum", "Sum", "Elementwise sum of tensors."),
  variadic("maximum", "Max", "Elementwise maximum of tensors."),
  variadic("minimum", "Min", "Elementwise minimum of tensors."),
  {
    name: "matmul",
    doc: "Matrix product with batch broadcasting (same as a @ b).",
    sig: [X, { name: "y", type: "tensor" }],
    apply: (ctx, a) => one(ctx, "MatMul", [t(a.x).v, t(a.y).v]),
  },
  {
    name: "where",
    doc: "Elementwise choice: cond ? a : b.",
    sig: [{ name: "cond", type: "tensor" }, X, { name: "y", type: "tensor" }],
    apply: (ctx, a) => one(ctx, "Where", [t(a.cond).v, t(a.x).v, t(a.y).v]),
  },
  reduce("reduce_mean", "ReduceMean"),
  reduce("reduce_sum", "ReduceSum"),
  reduce("reduce_max", "ReduceMax"),
  reduce("reduce_min", "ReduceMin"),
  {
    name: "argmax",
    doc: "Index of the maximum along an axis (default -1).",
    sig: [X, { name: "axis", type: "int", default: i(-1) }, {
      name: "keepdims",
      type: "bool",
      default: B(false),
    }],
    apply: (ctx, a) =>
      one(ctx, "ArgMax", [t(a.x).v], {
        axis: num(a.axis),
        keepdims: a.keepdims.k === "bool" && a.keepdims.v ? 1 : 0,
      }),
  },
  {
    name: "cast",
    doc: 'Convert the element type: cast(x, "f16").',
    sig: [X, { name: "dtype", type: "str" }],
    apply: (ctx, a) => {
      const d = (a.dtype as { v: string }).v;
      if (!DTYPE_NAMES.has(d)) {
        return ctx.error(
          ...diag("DLM0214", "cast() dtype", 'a dtype such as "f32" or "i64"', d),
          ctx.argSpan("dtype"),
        );
      }
      return one(ctx, "Cast", [t(a.x).v], { to: DTYPES[d as DType].onnx });
    },
  },
  randomLike(
    "randn_like",
    "RandomNormalLike",
    "Standard normal noise with the shape and dtype of x.",
  ),
  randomLike(
    "rand_like",
    "RandomUniformLike",
    "Uniform [0, 1) noise with the shape and dtype of x.",
  ),
  {
    name: "zeros_like",
    doc: "Zeros with the shape and dtype of x.",
    sig: [X],
    apply: (ctx, a) => one(ctx, "Mul", [t(a.x).v, ctx.scalar(0, t(a.x).t.dtype).v]),
  },
];

export const FUNCTIONS: Record<string, FnDef> = Object.fromEntries(defs.map((d) => [d.name, d]));
