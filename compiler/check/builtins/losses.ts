/**
 * Loss functions and regularisers as built-in functions. Each is a forward
 * computation from plain differentiable ONNX ops (autodiff differentiates
 * them like any other graph); each follows PyTorch's definition (torch.nn.
 * functional, 1.13) so numbers match, with the exceptions documented.
 * `reduce` is "mean" (default), "sum" or "none" (per-element or per-sample
 * losses).
 */
import { type Dim, formatType, type TensorType } from "../../ir/graph.ts";
import { tensor } from "../../ir/tensor.ts";
import { dimEquals } from "../../ops/dims.ts";
import type { Ctx } from "../context.ts";
import { num, type ParamSig } from "../signature.ts";
import { ERROR, type TensorValue, type Value } from "../values.ts";
import type { FnDef } from "./functions.ts";
import { fl, t } from "./util.ts";

const int = (v: number): Value => ({ k: "int", v });
const str = (v: string): Value => ({ k: "str", v });

const FLOATS = new Set(["f32", "f64", "f16", "bf16"]);
const REDUCE: ParamSig = { name: "reduce", type: "str", default: str("mean") };

/** Raised (and caught in `apply`) once a diagnostic has been reported. */
class Reported extends Error {}

/** Node-building helpers bound to a call; every failure is already reported. */
class L {
  /** Every value made here, by name, for its type. */
  readonly vals = new Map<string, TensorValue>();
  constructor(readonly ctx: Ctx, readonly fn: string) {}

  #keep(v: TensorValue): string {
    this.vals.set(v.v, v);
    return v.v;
  }
  op(op: string, inputs: string[], attrs: Record<string, number | number[]> = {}): string {
    const r = this.ctx.op(op, inputs, attrs);
    if (!r) throw new Reported();
    return this.#keep(r[0]);
  }
  /** The tensor value of a name made here. */
  tv(v: string): TensorValue {
    const x = this.vals.get(v);
    if (!x) throw new Error(`internal: ${this.fn}() lost value ${v}`);
    return x;
  }
  type(v: string): TensorType {
    return this.tv(v).t;
  }
  refine(v: string, type: TensorType): string {
    return this.#keep(this.ctx.refine(this.tv(v), type));
  }
  c(v: number, dtype: "f32" | "i64" = "f32"): string {
    return this.#keep(this.ctx.scalar(v, dtype));
  }
  ints(xs: number[]): string {
    return this.#keep(this.ctx.constant(tensor("i64", [xs.length], xs)));
  }
  add(a: string, b: string) {
    return this.op("Add", [a, b]);
  }
  sub(a: string, b: string) {
    return this.op("Sub", [a, b]);
  }
  mul(a: string, b: string) {
    return this.op("Mul", [a, b]);
  }
  div(a: string, b: string) {
    return this.op("Div", [a, b]);
  }
  /** a * k for a number k; k = 1 adds no node. */
  scale(a: string, k: number) {
    return k === 1 ? a : this.mul(a, this.c(k));
  }
  neg(a: string) {
    return this.op("Neg", [a]);
  }
  log(a: string) {
    return this.op("Log", [a]);
  }
  sum(a: string, axes?: number[], keepdims = 0) {
    return this.op("ReduceSum", axes ? [a, this.ints(axes)] : [a], { keepdims });
  }
  mean(a: string, axes?: number[], keepdims = 0) {
    return this.op("ReduceMean", [a], axes ? { axes, keepdims } : { keepdims });
  }
  /** log(1 + exp(-|x|)), stable for any x. */
  log1pExpNegAbs(x: string) {
    return this.log(this.add(this.c(1), this.op("Exp", [this.neg(this.op("Abs", [x]))])));
  }
  /** Rows scaled to unit L2 norm along axis 1 (F.normalize, eps 1e-12). */
  normalize(x: string) {
    const n = this.op("Sqrt", [this.op("ReduceSumSquare", [x], { axes: [1], keepdims: 1 })]);
    return this.div(x, this.op("Max", [n, this.c(1e-12)]));
  }
  error(code: "DLM0201" | "DLM0203" | "DLM0207" | "DLM0210", msg: string, arg?: string): never {
    this.ctx.error(code, `${this.fn}() ${msg}`, arg ? this.ctx.argSpan(arg) : undefined);
    throw new Reported();
  }
  float(x: TensorValue, arg: string) {
    if (!FLOATS.has(x.t.dtype)) {
      this.error("DLM0207", `needs a floating-point ${arg}, got ${formatType(x.t)}`, arg);
    }
  }
  sameShape(a: TensorValue, b: TensorValue, an: string, bn: string) {
    if (!sameDims(a.t.shape, b.t.shape)) {
      this.error(
        "DLM0203",
        `needs ${an} and ${bn} of the same shape, got ${formatType(a.t)} and ${formatType(b.t)}`,
        bn,
      );
    }
    if (a.t.dtype !== b.t.dtype) {
      this.error(
        "DLM0207",
        `needs ${an} and ${bn} of the same dtype, got ${formatType(a.t)} and ${formatType(b.t)}`,
        bn,
      );
    }
  }
  reduction(a: Record<string, Value>, extra: string[] = []): string {
    const r = a.reduce.k === "str" ? a.reduce.v : "";
    if (!["mean", "sum", "none", ...extra].includes(r)) {
      const all = ["mean", "sum", "none", ...extra].map((s) => `"${s}"`).join(", ");
      this.error("DLM0210", `needs reduce to be one of ${all}, got "${r}"`, "reduce");
    }
    return r;
  }
  /** Apply a reduction to per-element losses. */
  reduce(x: string, r: string): string {
    return r === "mean" ? this.mean(x) : r === "sum" ? this.sum(x) : x;
  }
}

function sameDims(a: Dim[], b: Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => dimEquals(d, b[i]));
}

/** Wrap a body so that reported failures return the poison value. */
/** A penalty summed over every tensor given (a parameter set). */
function sumOver(l: L, a: Record<string, Value>, each: (x: string) => string): string {
  const xs = (a.xs as { items: Value[] }).items.map(t);
  if (xs.length === 0) l.error("DLM0210", "needs at least one tensor", "xs");
  let acc = "";
  for (const x of xs) {
    l.float(x, "x");
    const v = each(x.v);
    acc = acc ? l.add(acc, v) : v;
  }
  return acc;
}

function loss(
  name: string,
  doc: string,
  sig: ParamSig[],
  body: (l: L, a: Record<string, Value>) => string,
): FnDef {
  return {
    name,
    doc,
    sig,
    apply(ctx, a) {
      try {
        const l = new L(ctx, name);
        return l.tv(body(l, a));
      } catch (e) {
        if (e instanceof Reported) return ERROR;
        throw e;
      }
    },
  };
}

/**
 * Negative log-likelihood of class indices: -logp[target] along `axis`,
 * targets equal to ignore_index contributing nothing (and, for "mean", not
 * counted); with label smoothing eps the loss is
 * (1 - eps) nll + eps mean_c(-logp_c), as torch's cross_entropy.
 */
function classNll(
  l: L,
  logp: TensorValue,
  target: TensorValue,
  axis: number,
  ignore: number,
  eps: number,
  r: string,
): string {
  const shape = logp.t.shape;
  const want = shape.filter((_, i) => i !== axis);
  if (!sameDims(want, target.t.shape)) {
    l.error(
      "DLM0203",
      `needs class indices of shape [${want.join(", ")}] for ${formatType(logp.t)}, got ${
        formatType(target.t)
      }`,
      "target",
    );
  }
  // Ignored targets index class 0 (any valid class) and are masked out.
  const keep = l.op("Not", [l.op("Equal", [target.v, l.c(ignore, "i64")])]);
  const safe = l.op("Where", [keep, target.v, l.c(0, "i64")]);
  const idx = l.op("Unsqueeze", [safe, l.ints([axis])]);
  const picked = l.op("Squeeze", [
    l.op("GatherElements", [logp.v, idx], { axis }),
    l.ints([axis]),
  ]);
  let per = l.neg(picked);
  if (eps !== 0) {
    const smooth = l.neg(l.mean(logp.v, [axis]));
    per = l.add(l.scale(per, 1 - eps), l.scale(smooth, eps));
  }
  const w = l.op("Cast", [keep], { to: 1 });
  per = l.mul(per, w);
  if (r === "none") return per;
  if (r === "sum") return l.sum(per);
  return l.div(l.sum(per), l.sum(w));
}

function axisOf(l: L, x: TensorValue, axis: number): number {
  const r = x.t.shape.length;
  if (r < 1 || axis < -r || axis >= r) {
    l.error("DLM0210", `axis ${axis} is out of range for ${formatType(x.t)}`, "axis");
  }
  return axis < 0 ? axis + r : axis;
}

const defs: FnDef[] = [
  loss(
    "cross_entropy",
    "Cross entropy of logits (classes along `axis`, default 1) and a target: i64 class indices (the logits' " +
      "shape without `axis`; targets equal to ignore_index, default -100, are skipped and not counted in the mean) " +
      "or class probabilities (a float tensor of the logits' shape). label_smoothing eps mixes the target with the " +
      "uniform distribution: (1 - eps) target + eps / C. As torch.nn.functional.cross_entropy.",
    [
      { name: "logits", type: "tensor" },
      { name: "target", type: "tensor" },
      REDUCE,
      { name: "label_smoothing", type: "float", default: fl(0) },
      { name: "ignore_index", type: "int", default: int(-100) },
      { name: "axis", type: "int", default: int(1) },
    ],
    (l, a) => {
      const x = t(a.logits), y = t(a.target), r = l.reduction(a);
      l.float(x, "logits");
      const axis = axisOf(l, x, num(a.axis));
      const eps = num(a.label_smoothing);
      if (eps < 0 || eps > 1) {
        l.error("DLM0210", `needs 0 <= label_smoothing <= 1, got ${eps}`, "label_smoothing");
      }
      const logp = l.tv(l.op("LogSoftmax", [x.v], { axis }));
      if (y.t.dtype === "i64") return classNll(l, logp, y, axis, num(a.ignore_index), eps, r);
      if (!FLOATS.has(y.t.dtype)) {
        l.error(
          "DLM0207",
          `needs an i64 class-index or a float probability target, got ${formatType(y.t)}`,
          "target",
        );
      }
      l.sameShape(x, y, "logits", "probability target");
      // -sum_c q_c logp_c with q = (1 - eps) target + eps / C = (1 - eps) target + eps mean_c.
      let per = l.neg(l.sum(l.mul(y.v, logp.v), [axis]));
      if (eps !== 0) {
        per = l.add(l.scale(per, 1 - eps), l.scale(l.neg(l.mean(logp.v, [axis])), eps));
      }
      return l.reduce(per, r);
    },
  ),
  loss(
    "nll",
    "Negative log-likelihood of log-probabilities `logp` (classes along `axis`, default 1) at i64 class indices " +
      "`target`; targets equal to ignore_index (default -100) are skipped and not counted in the mean. As torch's nll_loss.",
    [
      { name: "logp", type: "tensor" },
      { name: "target", type: "tensor" },
      REDUCE,
      { name: "ignore_index", type: "int", default: int(-100) },
      { name: "axis", type: "int", default: int(1) },
    ],
    (l, a) => {
      const x = t(a.logp), y = t(a.target), r = l.reduction(a);
      l.float(x, "logp");
      if (y.t.dtype !== "i64") {
        l.error("DLM0207", `needs i64 class indices as target, got ${formatType(y.t)}`, "target");
      }
      return classNll(l, x, y, axisOf(l, x, num(a.axis)), num(a.ignore_index), 0, r);
    },
  ),
  loss(
    "bce",
    "Binary cross entropy of probabilities p and targets of the same shape: -(t log p + (1 - t) log(1 - p)), " +
      "each log clamped at -100 as torch's binary_cross_entropy.",
    [{ name: "p", type: "tensor" }, { name: "target", type: "tensor" }, REDUCE],
    (l, a) => {
      const p = t(a.p), y = t(a.target), r = l.reduction(a);
      l.float(p, "p");
      l.sameShape(p, y, "p", "target");
      const clog = (v: string) => l.op("Max", [l.log(v), l.c(-100)]);
      const one = l.c(1);
      const per = l.neg(
        l.add(l.mul(y.v, clog(p.v)), l.mul(l.sub(one, y.v), clog(l.sub(one, p.v)))),
      );
      return l.reduce(per, r);
    },
  ),
  loss(
    "bce_with_logits",
    "Binary cross entropy of logits x (sigmoid inside), in the stable form " +
      "(1 - t) x + w (log(1 + exp(-|x|)) + max(-x, 0)) with w = 1 + (pos_weight - 1) t; pos_weight " +
      "(optional) broadcasts along the last dim. As torch's binary_cross_entropy_with_logits.",
    [
      { name: "logits", type: "tensor" },
      { name: "target", type: "tensor" },
      { name: "pos_weight", type: "tensor", optional: true },
      REDUCE,
    ],
    (l, a) => {
      const x = t(a.logits), y = t(a.target), r = l.reduction(a);
      l.float(x, "logits");
      l.sameShape(x, y, "logits", "target");
      const sp = l.add(l.log1pExpNegAbs(x.v), l.op("Relu", [l.neg(x.v)]));
      let w: string | undefined;
      if (a.pos_weight && a.pos_weight.k === "tensor") {
        const pw = t(a.pos_weight);
        const last = x.t.shape[x.t.shape.length - 1];
        if (
          pw.t.shape.length > 1 ||
          (pw.t.shape.length === 1 && !dimEquals(pw.t.shape[0], last) && pw.t.shape[0] !== 1)
        ) {
          l.error(
            "DLM0203",
            `needs pos_weight of shape [${last}] (the logits' last dim), got ${formatType(pw.t)}`,
            "pos_weight",
          );
        }
        w = l.add(l.c(1), l.mul(l.sub(pw.v, l.c(1)), y.v));
      }
      const per = l.add(l.mul(l.sub(l.c(1), y.v), x.v), w ? l.mul(w, sp) : sp);
      return l.reduce(per, r);
    },
  ),
  loss(
    "mse",
    "Mean squared error (a - b)^2 of two tensors of the same shape.",
    [{ name: "a", type: "tensor" }, { name: "b", type: "tensor" }, REDUCE],
    (l, a) => {
      const x = t(a.a), y = t(a.b), r = l.reduction(a);
      l.float(x, "a");
      l.sameShape(x, y, "a", "b");
      const d = l.sub(x.v, y.v);
      return l.reduce(l.mul(d, d), r);
    },
  ),
  loss(
    "l1",
    "Mean absolute error |a - b| of two tensors of the same shape.",
    [{ name: "a", type: "tensor" }, { name: "b", type: "tensor" }, REDUCE],
    (l, a) => {
      const x = t(a.a), y = t(a.b), r = l.reduction(a);
      l.float(x, "a");
      l.sameShape(x, y, "a", "b");
      return l.reduce(l.op("Abs", [l.sub(x.v, y.v)]), r);
    },
  ),
  loss(
    "smooth_l1",
    "Smooth L1 (Huber-like) loss of a and b: 0.5 d^2 / beta where d = |a - b| < beta, d - 0.5 beta elsewhere " +
      "(beta default 1; beta 0 is l1). As torch's smooth_l1_loss.",
    [
      { name: "a", type: "tensor" },
      { name: "b", type: "tensor" },
      { name: "beta", type: "float", default: fl(1) },
      REDUCE,
    ],
    (l, a) => {
      const x = t(a.a), y = t(a.b), r = l.reduction(a), beta = num(a.beta);
      l.float(x, "a");
      l.sameShape(x, y, "a", "b");
      if (beta < 0) l.error("DLM0210", `needs beta >= 0, got ${beta}`, "beta");
      const d = l.op("Abs", [l.sub(x.v, y.v)]);
      if (beta === 0) return l.reduce(d, r);
      const quad = l.scale(l.mul(d, d), 0.5 / beta);
      const lin = l.sub(d, l.c(0.5 * beta));
      return l.reduce(l.op("Where", [l.op("Less", [d, l.c(beta)]), quad, lin]), r);
    },
  ),
  loss(
    "kl_div",
    "KL divergence with torch's argument convention: the input is log-probabilities logq, the target " +
      'probabilities p (same shape): p (log p - logq), 0 where p = 0. reduce: "mean" (over all elements, ' +
      'torch\'s default), "batchmean" (sum / batch size, the true KL), "sum" or "none".',
    [{ name: "logq", type: "tensor" }, { name: "p", type: "tensor" }, REDUCE],
    (l, a) => {
      const q = t(a.logq), p = t(a.p), r = l.reduction(a, ["batchmean"]);
      l.float(q, "logq");
      l.sameShape(q, p, "logq", "p");
      // log p with p = 0 replaced by 1 so the term is exactly 0 (and its gradient finite).
      const pos = l.op("Greater", [p.v, l.c(0)]);
      const logp = l.log(l.op("Where", [pos, p.v, l.c(1)]));
      const per = l.mul(p.v, l.sub(logp, q.v));
      if (r !== "batchmean") return l.reduce(per, r);
      const n = q.t.shape[0];
      if (typeof n !== "number") {
        // Batch size from the shape at run time.
        const size = l.op("Cast", [l.op("Shape", [q.v], { start: 0, end: 1 })], { to: 1 });
        return l.div(l.sum(per), l.op("Squeeze", [size, l.ints([0])]));
      }
      return l.scale(l.sum(per), 1 / n);
    },
  ),
  loss(
    "kl_std_normal",
    "The VAE's KL term KL(N(mu, exp(logvar)) || N(0, 1)) = -0.5 sum(1 + logvar - mu^2 - exp(logvar)), summed " +
      "over the latent (last) dim and averaged over the other (batch) dims.",
    [{ name: "mu", type: "tensor" }, { name: "logvar", type: "tensor" }],
    (l, a) => {
      const mu = t(a.mu), lv = t(a.logvar);
      l.float(mu, "mu");
      l.sameShape(mu, lv, "mu", "logvar");
      const k = mu.t.shape.length;
      if (k < 1) l.error("DLM0203", `needs mu of rank 1 or more, got ${formatType(mu.t)}`, "mu");
      const inner = l.sub(l.sub(l.add(l.c(1), lv.v), l.mul(mu.v, mu.v)), l.op("Exp", [lv.v]));
      const perSample = l.scale(l.sum(inner, [k - 1]), -0.5);
      return k === 1 ? perSample : l.mean(perSample);
    },
  ),
  loss(
    "info_nce",
    "InfoNCE of paired embeddings a, b [N, D]: rows L2-normalised, logits a b^T / temperature (default 0.1), " +
      "cross entropy with the pair on the diagonal as the positive (one direction, a to b), mean over N.",
    [
      { name: "a", type: "tensor" },
      { name: "b", type: "tensor" },
      { name: "temperature", type: "float", default: fl(0.1) },
    ],
    (l, a) => {
      const x = t(a.a), y = t(a.b), tau = temperature(l, a);
      l.float(x, "a");
      pairs(l, x, y, "a", "b");
      const xn = l.normalize(x.v), yn = l.normalize(y.v);
      const logits = l.scale(
        l.op("MatMul", [xn, l.op("Transpose", [yn], { perm: [1, 0] })]),
        1 / tau,
      );
      const pos = l.scale(l.sum(l.mul(xn, yn), [1]), 1 / tau);
      return l.mean(l.sub(logsumexp(l, logits), pos));
    },
  ),
  loss(
    "nt_xent",
    "SimCLR's NT-Xent of two views z1, z2 [N, D]: the 2N rows L2-normalised, similarities / temperature " +
      "(default 0.5), each row's positive its other view and its negatives the other 2N - 2 rows (itself " +
      "excluded); mean cross entropy over the 2N rows.",
    [
      { name: "z1", type: "tensor" },
      { name: "z2", type: "tensor" },
      { name: "temperature", type: "float", default: fl(0.5) },
    ],
    (l, a) => {
      const x = t(a.z1), y = t(a.z2), tau = temperature(l, a);
      l.float(x, "z1");
      pairs(l, x, y, "z1", "z2");
      const z = l.normalize(l.op("Concat", [x.v, y.v], { axis: 0 }));
      const sim = l.scale(l.op("MatMul", [z, l.op("Transpose", [z], { perm: [1, 0] })]), 1 / tau);
      // Mask the diagonal (self-similarity) with a large negative number.
      const n2 = l.op("Shape", [z], { start: 0, end: 1 });
      const idx = l.op("Range", [l.c(0, "i64"), l.op("Squeeze", [n2, l.ints([0])]), l.c(1, "i64")]);
      const st = l.type(sim);
      const eye = l.op("Equal", [
        l.op("Unsqueeze", [idx, l.ints([1])]),
        l.op("Unsqueeze", [idx, l.ints([0])]),
      ]);
      const masked = l.op("Where", [
        l.refine(eye, { dtype: "bool", shape: st.shape }),
        l.c(-1e9),
        sim,
      ]);
      const pos = l.scale(l.sum(l.mul(l.normalize(x.v), l.normalize(y.v)), [1]), 1 / tau);
      const pos2 = l.op("Concat", [pos, pos], { axis: 0 });
      return l.mean(l.sub(logsumexp(l, masked), pos2));
    },
  ),
  loss(
    "hinge",
    "Hinge loss. With i64 class indices target [N] and scores [N, C]: torch's multi_margin_loss, " +
      "sum_{c != y} max(0, margin - s_y + s_c) / C per sample; with a float target of the scores' shape " +
      "(labels -1 or +1): max(0, margin - t s) per element. margin defaults to 1.",
    [
      { name: "scores", type: "tensor" },
      { name: "target", type: "tensor" },
      { name: "margin", type: "float", default: fl(1) },
      REDUCE,
    ],
    (l, a) => {
      const s = t(a.scores), y = t(a.target), r = l.reduction(a), m = num(a.margin);
      l.float(s, "scores");
      if (y.t.dtype !== "i64") {
        l.sameShape(s, y, "scores", "target");
        return l.reduce(l.op("Relu", [l.sub(l.c(m), l.mul(y.v, s.v))]), r);
      }
      const [n, c] = s.t.shape;
      if (s.t.shape.length !== 2 || y.t.shape.length !== 1 || !dimEquals(n, y.t.shape[0])) {
        l.error(
          "DLM0203",
          `needs scores [N, C] and class indices [N], got ${formatType(s.t)} and ${
            formatType(y.t)
          }`,
          "target",
        );
      }
      if (typeof c !== "number") {
        l.error("DLM0203", `needs a known number of classes, got ${formatType(s.t)}`, "scores");
      }
      const sy = l.op("GatherElements", [s.v, l.op("Unsqueeze", [y.v, l.ints([1])])], { axis: 1 });
      // The c = y term is max(0, margin) = margin: subtract it.
      const all = l.sum(l.op("Relu", [l.add(l.sub(l.c(m), sy), s.v)]), [1]);
      const per = l.scale(l.sub(all, l.c(Math.max(m, 0))), 1 / (c as number));
      return l.reduce(per, r);
    },
  ),
  loss(
    "l1_penalty",
    'The L1 regulariser sum |x| of tensors (a parameter set: l1_penalty(params("*.weight"))).',
    [{ name: "xs", type: "tensors", variadic: true }],
    (l, a) => sumOver(l, a, (x) => l.sum(l.op("Abs", [x]))),
  ),
  loss(
    "l2_penalty",
    'The L2 regulariser sum x^2 of tensors, no factor 1/2 (a parameter set: l2_penalty(params("*.weight"))).',
    [{ name: "xs", type: "tensors", variadic: true }],
    (l, a) => sumOver(l, a, (x) => l.op("ReduceSumSquare", [x], { keepdims: 0 })),
  ),
  loss(
    "sparsity_penalty",
    "A sparse autoencoder's penalty on activations [N, H] in (0, 1): sum over units j of " +
      "KL(rho || rho_j) = rho log(rho / rho_j) + (1 - rho) log((1 - rho) / (1 - rho_j)), " +
      "rho_j the mean activation over the batch (rho default 0.05).",
    [{ name: "activations", type: "tensor" }, { name: "rho", type: "float", default: fl(0.05) }],
    (l, a) => {
      const x = t(a.activations), rho = num(a.rho);
      l.float(x, "activations");
      if (!(rho > 0 && rho < 1)) l.error("DLM0210", `needs 0 < rho < 1, got ${rho}`, "rho");
      if (x.t.shape.length < 1) {
        l.error("DLM0203", `needs activations [N, ...], got ${formatType(x.t)}`, "activations");
      }
      const mean = l.mean(x.v, [0]);
      const a1 = l.scale(l.log(l.div(l.c(rho), mean)), rho);
      const a2 = l.scale(l.log(l.div(l.c(1 - rho), l.sub(l.c(1), mean))), 1 - rho);
      return l.sum(l.add(a1, a2));
    },
  ),
];

function temperature(l: L, a: Record<string, Value>): number {
  const tau = num(a.temperature);
  if (!(tau > 0)) l.error("DLM0210", `needs temperature > 0, got ${tau}`, "temperature");
  return tau;
}

function pairs(l: L, x: TensorValue, y: TensorValue, an: string, bn: string) {
  if (x.t.shape.length !== 2) {
    l.error("DLM0203", `needs ${an} [N, D], got ${formatType(x.t)}`, an);
  }
  l.sameShape(x, y, an, bn);
}

/** log sum_j exp(x_ij) along axis 1, stabilised by the row max. */
function logsumexp(l: L, x: string): string {
  const m = l.op("ReduceMax", [x], { axes: [1], keepdims: 1 });
  const s = l.sum(l.op("Exp", [l.sub(x, m)]), [1], 1);
  return l.op("Squeeze", [l.add(m, l.log(s)), l.ints([1])]);
}

export const FUNCTIONS: Record<string, FnDef> = Object.fromEntries(defs.map((d) => [d.name, d]));
