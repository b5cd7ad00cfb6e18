/**
 * Loss functions and regularisers as built-in functions. Each is a forward
 * computation from plain differentiable ONNX ops (autodiff differentiates
 * them like any other graph); each follows PyTorch's definition (torch.nn.
 * functional, 1.13) so numbers match, with the exceptions documented.
 * `reduce` is "mean" (default), "sum" or "none" (per-element or per-sample
 * losses).
 */
import { type Dim, formatType } from "../../ir/graph.ts";
import type { Expr } from "../../ir/expr.ts";
import { dimEquals } from "../../ops/dims.ts";
import type { Ctx } from "../context.ts";
import { num, type ParamSig } from "../signature.ts";
import { ERROR, type TensorValue, type Value } from "../values.ts";
import type { FnDef } from "./functions.ts";
import { CtxGraph, fl, Reported, t } from "./util.ts";
import { type Code, diag } from "../../diagnostics.ts";

const int = (v: number): Value => ({ k: "int", v });
const str = (v: string): Value => ({ k: "str", v });

const FLOATS = new Set(["f32", "f64", "f16", "bf16"]);
const REDUCE: ParamSig = { name: "reduce", type: "str", default: str("mean") };

/**
 * A loss call: its graph (numbers are f32 scalars; a node whose shape rule
 * fails throws `Reported`) and its argument checks, each reporting at the
 * argument it is about.
 */
class L {
  readonly e: CtxGraph;
  constructor(readonly ctx: Ctx, readonly fn: string) {
    this.e = new CtxGraph(ctx, "f32");
  }

  /** A tensor argument as a value. */
  v(x: TensorValue): Expr {
    return this.e.tensor(x);
  }
  /** Report `code` at argument `arg` (a catalogue message: `this.error(...diag(code, ...), arg)`). */
  error(code: Code, message: string, arg?: string): never {
    this.ctx.error(code, message, arg ? this.ctx.argSpan(arg) : undefined);
    throw new Reported();
  }
  float(x: TensorValue, arg: string) {
    if (!FLOATS.has(x.t.dtype)) {
      this.error(
        ...diag("DLM0207", `${this.fn}()`, `a floating-point ${arg}`, formatType(x.t)),
        arg,
      );
    }
  }
  sameShape(a: TensorValue, b: TensorValue, an: string, bn: string) {
    if (!sameDims(a.t.shape, b.t.shape)) {
      this.error(
        ...diag(
          "DLM0203",
          `${this.fn}()`,
          `${an} and ${bn} of the same shape`,
          `${formatType(a.t)} and ${formatType(b.t)}`,
        ),
        bn,
      );
    }
    if (a.t.dtype !== b.t.dtype) {
      this.error(
        ...diag(
          "DLM0207",
          `${this.fn}()`,
          `${an} and ${bn} of the same dtype`,
          `${formatType(a.t)} and ${formatType(b.t)}`,
        ),
        bn,
      );
    }
  }
  reduction(a: Record<string, Value>, extra: string[] = []): string {
    const r = a.reduce.k === "str" ? a.reduce.v : "";
    if (!["mean", "sum", "none", ...extra].includes(r)) {
      const all = ["mean", "sum", "none", ...extra].map((s) => `"${s}"`).join(", ");
      this.error(...diag("DLM0214", `${this.fn}() reduce`, `one of ${all}`, r), "reduce");
    }
    return r;
  }
  /** Apply a reduction to per-element losses. */
  reduce(x: Expr, r: string): Expr {
    return r === "mean" ? x.meanAll() : r === "sum" ? x.sumAll() : x;
  }
}

/** log(1 + exp(-|x|)), stable for any x. */
function log1pExpNegAbs(x: Expr): Expr {
  return x.graph.num(1).add(x.abs().neg().exp()).log();
}

/** Rows scaled to unit L2 norm along axis 1 (F.normalize, eps 1e-12). */
function normalize(x: Expr): Expr {
  return x.div(x.sumSquare([1], true).sqrt().max(1e-12));
}

function sameDims(a: Dim[], b: Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => dimEquals(d, b[i]));
}

/** Wrap a body so that reported failures return the poison value. */
/** A penalty summed over every tensor given (a parameter set). */
function sumOver(l: L, a: Record<string, Value>, each: (x: Expr) => Expr): Expr {
  const xs = (a.xs as { items: Value[] }).items.map(t);
  if (xs.length === 0) l.error(...diag("DLM0223", `${l.fn}()`, "at least one tensor"), "xs");
  let acc: Expr | undefined;
  for (const x of xs) {
    l.float(x, "x");
    const v = each(l.v(x));
    acc = acc ? acc.add(v) : v;
  }
  return acc!;
}

function loss(
  name: string,
  doc: string,
  sig: ParamSig[],
  body: (l: L, a: Record<string, Value>) => Expr,
): FnDef {
  return {
    name,
    doc,
    sig,
    apply(ctx, a) {
      try {
        const l = new L(ctx, name);
        return l.e.value(body(l, a));
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
  logp: Expr,
  target: TensorValue,
  axis: number,
  ignore: number,
  eps: number,
  r: string,
): Expr {
  const shape = logp.type.shape;
  const want = shape.filter((_, i) => i !== axis);
  if (!sameDims(want, target.t.shape)) {
    l.error(
      ...diag(
        "DLM0203",
        `${l.fn}()`,
        `class indices of shape [${want.join(", ")}] for ${formatType(logp.type)}`,
        formatType(target.t),
      ),
      "target",
    );
  }
  const classes = shape[axis];
  l.ctx.needIndices(target, {
    what: "class index",
    by: `${l.fn} over ${classes} classes`,
    ...(typeof classes === "number" ? { min: 0, max: classes - 1 } : {}),
    also: [[ignore, "its ignore_index"]],
  });
  const e = l.e;
  const y = l.v(target);
  // Ignored targets index class 0 (any valid class) and are masked out.
  const keep = y.equal(e.scalar(ignore, "i64")).not();
  const safe = keep.where(y, e.scalar(0, "i64"));
  const picked = logp.op("GatherElements", [safe.unsqueeze([axis])], { axis }).squeeze([axis]);
  let per = picked.neg();
  if (eps !== 0) {
    // (1 - eps) nll + eps mean_c(-logp_c)
    const smooth = logp.mean([axis], false).neg();
    per = per.scale(1 - eps).add(smooth.scale(eps));
  }
  const w = keep.cast("f32");
  per = per.mul(w);
  if (r === "none") return per;
  if (r === "sum") return per.sumAll();
  return per.sumAll().div(w.sumAll());
}

function axisOf(l: L, x: TensorValue, axis: number): number {
  const r = x.t.shape.length;
  if (r < 1 || axis < -r || axis >= r) {
    l.error(...diag("DLM0213", `${l.fn}()`, axis, formatType(x.t)), "axis");
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
        l.error(
          ...diag("DLM0210", `${l.fn}()`, "0 <= label_smoothing <= 1", eps),
          "label_smoothing",
        );
      }
      const logp = l.v(x).op("LogSoftmax", [], { axis });
      if (y.t.dtype === "i64") return classNll(l, logp, y, axis, num(a.ignore_index), eps, r);
      if (!FLOATS.has(y.t.dtype)) {
        l.error(
          ...diag(
            "DLM0207",
            `${l.fn}()`,
            "an i64 class-index or a float probability target",
            formatType(y.t),
          ),
          "target",
        );
      }
      l.sameShape(x, y, "logits", "probability target");
      // -sum_c q_c logp_c with q = (1 - eps) target + eps / C = (1 - eps) target + eps mean_c.
      let per = l.v(y).mul(logp).sum([axis], false).neg();
      if (eps !== 0) per = per.scale(1 - eps).add(logp.mean([axis], false).neg().scale(eps));
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
        l.error(
          ...diag("DLM0207", `${l.fn}()`, "i64 class indices as target", formatType(y.t)),
          "target",
        );
      }
      return classNll(l, l.v(x), y, axisOf(l, x, num(a.axis)), num(a.ignore_index), 0, r);
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
      const clog = (v: Expr) => v.log().max(-100);
      const one = l.e.num(1);
      const pv = l.v(p), yv = l.v(y);
      const per = yv.mul(clog(pv)).add(one.sub(yv).mul(clog(one.sub(pv)))).neg();
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
      const xv = l.v(x), yv = l.v(y);
      const sp = log1pExpNegAbs(xv).add(xv.neg().relu());
      let w: Expr | undefined;
      if (a.pos_weight && a.pos_weight.k === "tensor") {
        const pw = t(a.pos_weight);
        const last = x.t.shape[x.t.shape.length - 1];
        if (
          pw.t.shape.length > 1 ||
          (pw.t.shape.length === 1 && !dimEquals(pw.t.shape[0], last) && pw.t.shape[0] !== 1)
        ) {
          l.error(
            ...diag(
              "DLM0203",
              `${l.fn}()`,
              `pos_weight of shape [${last}] (the logits' last dim)`,
              formatType(pw.t),
            ),
            "pos_weight",
          );
        }
        w = l.e.num(1).add(l.v(pw).sub(1).mul(yv));
      }
      const per = l.e.num(1).sub(yv).mul(xv).add(w ? w.mul(sp) : sp);
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
      return l.reduce(l.v(x).sub(l.v(y)).square(), r);
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
      return l.reduce(l.v(x).sub(l.v(y)).abs(), r);
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
      if (beta < 0) l.error(...diag("DLM0210", `${l.fn}()`, "beta >= 0", beta), "beta");
      const d = l.v(x).sub(l.v(y)).abs();
      if (beta === 0) return l.reduce(d, r);
      const quad = d.square().scale(0.5 / beta);
      const lin = d.sub(0.5 * beta);
      return l.reduce(d.less(beta).where(quad, lin), r);
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
      const pv = l.v(p), qv = l.v(q);
      const logp = pv.greater(0).where(pv, 1).log();
      const per = pv.mul(logp.sub(qv));
      if (r !== "batchmean") return l.reduce(per, r);
      const n = q.t.shape[0];
      if (typeof n !== "number") {
        // Batch size from the shape at run time.
        const size = qv.op("Shape", [], { start: 0, end: 1 }).cast("f32");
        return per.sumAll().div(size.squeeze([0]));
      }
      return per.sumAll().scale(1 / n);
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
      if (k < 1) {
        l.error(...diag("DLM0203", `${l.fn}()`, "mu of rank 1 or more", formatType(mu.t)), "mu");
      }
      const m = l.v(mu), logvar = l.v(lv);
      const inner = l.e.num(1).add(logvar).sub(m.square()).sub(logvar.exp());
      const perSample = inner.sum([k - 1], false).scale(-0.5);
      return k === 1 ? perSample : perSample.meanAll();
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
      const xn = normalize(l.v(x)), yn = normalize(l.v(y));
      const logits = xn.matmul(yn.transpose([1, 0])).scale(1 / tau);
      const pos = xn.mul(yn).sum([1], false).scale(1 / tau);
      return logsumexp(logits).sub(pos).meanAll();
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
      const e = l.e;
      const z = normalize(e.op1("Concat", [l.v(x), l.v(y)], { axis: 0 }));
      const sim = z.matmul(z.transpose([1, 0])).scale(1 / tau);
      // Mask the diagonal (self-similarity) with a large negative number.
      const n2 = z.op("Shape", [], { start: 0, end: 1 });
      const idx = e.op1("Range", [e.scalar(0, "i64"), n2.squeeze([0]), e.scalar(1, "i64")]);
      const eye = idx.unsqueeze([1]).equal(idx.unsqueeze([0]));
      const masked = e.refine(eye, { dtype: "bool", shape: sim.type.shape }).where(-1e9, sim);
      const pos = normalize(l.v(x)).mul(normalize(l.v(y))).sum([1], false).scale(1 / tau);
      const pos2 = e.op1("Concat", [pos, pos], { axis: 0 });
      return logsumexp(masked).sub(pos2).meanAll();
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
        return l.reduce(l.e.num(m).sub(l.v(y).mul(l.v(s))).relu(), r);
      }
      const [n, c] = s.t.shape;
      if (s.t.shape.length !== 2 || y.t.shape.length !== 1 || !dimEquals(n, y.t.shape[0])) {
        l.error(
          ...diag(
            "DLM0203",
            `${l.fn}()`,
            "scores [N, C] and class indices [N]",
            `${formatType(s.t)} and ${formatType(y.t)}`,
          ),
          "target",
        );
      }
      if (typeof c !== "number") {
        l.error(
          ...diag("DLM0203", `${l.fn}()`, "a known number of classes", formatType(s.t)),
          "scores",
        );
      }
      l.ctx.needIndices(y, {
        what: "class index",
        by: `${l.fn} over ${c} classes`,
        min: 0,
        max: (c as number) - 1,
      });
      const sv = l.v(s);
      const sy = sv.op("GatherElements", [l.v(y).unsqueeze([1])], { axis: 1 });
      // sum_c max(0, margin - s_y + s_c); the c = y term is max(0, margin): subtract it.
      const all = l.e.num(m).sub(sy).add(sv).relu().sum([1], false);
      const per = all.sub(Math.max(m, 0)).scale(1 / (c as number));
      return l.reduce(per, r);
    },
  ),
  loss(
    "l1_penalty",
    'The L1 regulariser sum |x| of tensors (a parameter set: l1_penalty(params("*.weight"))).',
    [{ name: "xs", type: "tensors", variadic: true }],
    (l, a) => sumOver(l, a, (x) => x.abs().sumAll()),
  ),
  loss(
    "l2_penalty",
    'The L2 regulariser sum x^2 of tensors, no factor 1/2 (a parameter set: l2_penalty(params("*.weight"))).',
    [{ name: "xs", type: "tensors", variadic: true }],
    (l, a) => sumOver(l, a, (x) => x.sumSquare(undefined, false)),
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
      if (!(rho > 0 && rho < 1)) {
        l.error(...diag("DLM0210", `${l.fn}()`, "0 < rho < 1", rho), "rho");
      }
      if (x.t.shape.length < 1) {
        l.error(
          ...diag("DLM0203", `${l.fn}()`, "activations [N, ...]", formatType(x.t)),
          "activations",
        );
      }
      const e = l.e;
      const mean = l.v(x).mean([0], false);
      const a1 = e.num(rho).div(mean).log().scale(rho);
      const a2 = e.num(1 - rho).div(e.num(1).sub(mean)).log().scale(1 - rho);
      return a1.add(a2).sumAll();
    },
  ),
];

function temperature(l: L, a: Record<string, Value>): number {
  const tau = num(a.temperature);
  if (!(tau > 0)) l.error(...diag("DLM0210", `${l.fn}()`, "temperature > 0", tau), "temperature");
  return tau;
}

function pairs(l: L, x: TensorValue, y: TensorValue, an: string, bn: string) {
  if (x.t.shape.length !== 2) {
    l.error(...diag("DLM0203", `${l.fn}()`, `${an} [N, D]`, formatType(x.t)), an);
  }
  l.sameShape(x, y, an, bn);
}

/** log sum_j exp(x_ij) along axis 1, stabilised by the row max. */
function logsumexp(x: Expr): Expr {
  const m = x.reduceMax([1], true);
  const s = x.sub(m).exp().sum([1], true);
  return m.add(s.log()).squeeze([1]);
}

export const FUNCTIONS: Record<string, FnDef> = Object.fromEntries(defs.map((d) => [d.name, d]));
