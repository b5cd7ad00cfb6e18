/**
 * Attention primitives: scaled dot-product attention, masks (causal,
 * padding, additive bias from a 0/1 attention mask), positional encodings
 * (sinusoidal, rotary) and the small layers attention blocks need (RMSNorm,
 * Shaw et al.'s relative position keys, PyTorch's packed in-projection).
 * Blocks built from these (multi-head attention, encoder and decoder layers)
 * are written in .dlm: lang-examples/lib/transformer.dlm.
 *
 * Masks follow torch.nn.functional.scaled_dot_product_attention: a bool mask
 * is true where attention is allowed; a float mask is added to the scores.
 */
import { formatType } from "../../ir/graph.ts";
import { type DType, table, type Tensor, tensor } from "../../ir/tensor.ts";
import { dimEquals } from "../../ops/dims.ts";
import type { Ctx } from "../context.ts";
import type { InitSpec } from "../../ir/init.ts";
import { num } from "../signature.ts";
import { describe, ERROR, type TensorValue, type Value } from "../values.ts";
import type { FnDef } from "./functions.ts";
import type { LayerDef } from "./layers.ts";
import { normAxisArg, rangeAlong } from "./tensor_ops.ts";
import { B, fl, i, Reported, t, withGraph } from "./util.ts";
import { diag } from "../../diagnostics.ts";

const FLOATS = new Set<DType>(["f32", "f64", "f16", "bf16"]);

/**
 * The most negative finite value of a float type: masked scores become
 * this rather than -inf, so a fully masked row gives a uniform softmax
 * instead of NaN (as Hugging Face models do with finfo.min).
 */
function lowest(dtype: DType): number {
  if (dtype === "f16") return -65504;
  if (dtype === "f64") return -Number.MAX_VALUE;
  return -3.4028234663852886e38;
}

function needFloat(ctx: Ctx, x: TensorValue, what: string, arg: string): boolean {
  if (FLOATS.has(x.t.dtype)) return true;
  ctx.error(
    ...diag("DLM0207", `${what}()`, `a floating-point tensor for '${arg}'`, formatType(x.t)),
    ctx.argSpan(arg),
  );
  return false;
}

/** mask[i, j] = (j <= i) for query positions rq [T] and key positions rk [S]: bool [T, S]. */
function causalFrom(ctx: Ctx, rq: TensorValue, rk: TensorValue): TensorValue | undefined {
  return withGraph(
    ctx,
    (e) => e.tensor(rk).unsqueeze([0]).lessOrEqual(e.tensor(rq).unsqueeze([1])),
  );
}

/** A dim of `like` (found by value) or an int, as the positions 0..n-1. */
function positions(ctx: Ctx, n: Value, like: Value | undefined, what: string) {
  if (n.k === "int") {
    if (n.v <= 0) {
      ctx.error(...diag("DLM0210", `${what}()`, "a positive size", n.v), ctx.argSpan("n"));
      return undefined;
    }
    return ctx.constant(table("i64", [n.v], `${what}() positions`, (i) => i));
  }
  if (n.k !== "dim" || !like || like.k !== "tensor") {
    const got = n.k === "dim" ? `${n.v} without like:` : describe(n);
    ctx.error(
      ...diag(
        "DLM0201",
        `${what}()`,
        "an int, or a symbolic dim with like: a tensor that has it, for 'n'",
        got,
      ),
      ctx.argSpan("n"),
    );
    return undefined;
  }
  const at = like.t.shape.findIndex((d) => dimEquals(d, n.v));
  if (at < 0) {
    ctx.error(
      ...diag("DLM0203", `${what}()`, `the dim ${n.v} in 'like'`, formatType(like.t)),
      ctx.argSpan("like"),
    );
    return undefined;
  }
  return rangeAlong(ctx, like, at);
}

/** softmax(q k^T * scale + mask) v over the last two dims, batch dims broadcast. */
function sdpa(ctx: Ctx, a: Record<string, Value>): Value {
  const q = t(a.q), k = t(a.k), v = t(a.v);
  for (const [x, n] of [[q, "q"], [k, "k"], [v, "v"]] as const) {
    if (!needFloat(ctx, x, "scaled_dot_product_attention", n)) return ERROR;
    if (x.t.shape.length < 2) {
      return ctx.error(
        ...diag(
          "DLM0203",
          "scaled_dot_product_attention()",
          `'${n}' of rank >= 2 [..., L, d]`,
          formatType(x.t),
        ),
        ctx.argSpan(n),
      );
    }
  }
  const d = q.t.shape[q.t.shape.length - 1];
  let scale: number;
  if (a.scale) scale = num(a.scale);
  else if (typeof d === "number") scale = 1 / Math.sqrt(d);
  else {
    return ctx.error(
      ...diag(
        "DLM0203",
        "scaled_dot_product_attention()",
        "a known head size for the default scale (or scale:)",
        `q ${formatType(q.t)}`,
      ),
      ctx.argSpan("q"),
    );
  }
  const rk = k.t.shape.length;
  const perm = [...Array(rk).keys()];
  [perm[rk - 2], perm[rk - 1]] = [perm[rk - 1], perm[rk - 2]];
  let s = withGraph(ctx, (e) => e.tensor(q).matmul(e.tensor(k).transpose(perm)).mul(scale));
  if (!s) return ERROR;
  const low = ctx.scalar(lowest(q.t.dtype), q.t.dtype).v;
  if (a.mask) {
    const m = t(a.mask);
    const s0 = s;
    if (m.t.dtype === "bool") s = withGraph(ctx, (e) => e.op1("Where", [m.v, s0.v, low]));
    else if (m.t.dtype === q.t.dtype) s = withGraph(ctx, (e) => e.tensor(s0).add(m.v));
    else {
      return ctx.error(
        ...diag(
          "DLM0207",
          "scaled_dot_product_attention()",
          `a bool mask or an additive mask of q's type ${q.t.dtype}`,
          formatType(m.t),
        ),
        ctx.argSpan("mask"),
      );
    }
    if (!s) return ERROR;
  }
  if (a.causal.k === "bool" && a.causal.v) {
    const pq = rangeAlong(ctx, q, q.t.shape.length - 2);
    const pk = rangeAlong(ctx, k, rk - 2);
    const c = pq && pk && causalFrom(ctx, pq, pk);
    const s0 = s;
    s = c && withGraph(ctx, (e) => e.op1("Where", [c.v, s0.v, low]));
    if (!s) return ERROR;
  }
  const scores = s;
  return withGraph(ctx, (e) => e.tensor(scores).op("Softmax", [], { axis: -1 }).matmul(v.v)) ??
    ERROR;
}

/** PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d)). */
export function sinusoidalTable(maxLen: number, dim: number, base = 10000): Tensor {
  const t = table("f32", [maxLen, dim], "sinusoidal_positions()");
  const out = t.data as Float32Array;
  for (let p = 0; p < maxLen; p++) {
    for (let j = 0; j < dim; j++) {
      const ang = p / Math.pow(base, (2 * Math.floor(j / 2)) / dim);
      out[p * dim + j] = j % 2 === 0 ? Math.sin(ang) : Math.cos(ang);
    }
  }
  return t;
}

/**
 * Rotary position embedding (RoFormer) of x [..., T, d]: each pair of
 * features (x_a, x_b) at position p is rotated by the angle p * theta_i,
 * theta_i = base^(-2i/d):
 *   x_a' = x_a cos - x_b sin,  x_b' = x_a sin + x_b cos.
 * Pairs are (i, i + d/2) (GPT-NeoX, LLaMA: "rotate half") or, with
 * interleaved, (2i, 2i+1) as in the RoFormer paper.
 */
function rotary(ctx: Ctx, a: Record<string, Value>): Value {
  const x = t(a.x);
  if (!needFloat(ctx, x, "rotary", "x")) return ERROR;
  const r = x.t.shape.length;
  const d = r >= 2 ? x.t.shape[r - 1] : undefined;
  if (typeof d !== "number" || d % 2 !== 0) {
    return ctx.error(
      ...diag("DLM0203", "rotary()", "an input [..., T, d] with a known even d", formatType(x.t)),
    );
  }
  const h = d / 2;
  const base = num(a.base, 10000);
  const invFreq = [...Array(h).keys()].map((j) => Math.pow(base, (-2 * j) / d));
  const pos = rangeAlong(ctx, x, r - 2);
  if (!pos) return ERROR;
  const interleaved = a.interleaved.k === "bool" && a.interleaved.v;
  return withGraph(ctx, (e) => {
    const xv = e.tensor(x);
    const ang = e.tensor(pos).cast(x.t.dtype).unsqueeze([1])
      .mul(e.constant(tensor(x.t.dtype, [h], invFreq)));
    const cos = ang.cos(), sin = ang.sin();
    if (!interleaved) {
      // [x1, x2] -> [x1 cos - x2 sin, x2 cos + x1 sin] = x * [cos, cos] + [-x2, x1] * [sin, sin].
      const cc = e.op1("Concat", [cos, cos], { axis: -1 });
      const ss = e.op1("Concat", [sin, sin], { axis: -1 });
      const ax = e.ints([r - 1]);
      const x1 = xv.op("Slice", [e.ints([0]), e.ints([h]), ax]);
      const x2 = xv.op("Slice", [e.ints([h]), e.ints([d]), ax]);
      const rot = e.op1("Concat", [x2.neg(), x1], { axis: r - 1 });
      return xv.mul(cc).add(rot.mul(ss));
    }
    // Pairs (2i, 2i+1): view as [..., T, d/2, 2], rotate, view back.
    const keep = Array(r - 1).fill(0);
    const xr = xv.reshape([...keep, h, 2]);
    const zero = e.scalar(0, "i64"), onei = e.scalar(1, "i64");
    const xe = xr.op("Gather", [zero], { axis: r }), xo = xr.op("Gather", [onei], { axis: r });
    // (xe, xo) -> (xe cos - xo sin, xe sin + xo cos)
    const ec = xe.mul(cos), os = xo.mul(sin), es = xe.mul(sin), oc = xo.mul(cos);
    const oe = ec.sub(os), oo = es.add(oc);
    return e.op1("Concat", [oe.unsqueeze([r]), oo.unsqueeze([r])], { axis: r })
      .reshape([...keep, d]);
  }) ?? ERROR;
}

const fns: FnDef[] = [
  {
    name: "scaled_dot_product_attention",
    attention: true,
    doc:
      "softmax(q k^T * scale + mask) v for q [..., T, d], k [..., S, d], v [..., S, dv] (batch and head dims broadcast). " +
      "mask: bool (true = attend) or additive float; causal: query i sees keys j <= i; scale defaults to 1 / sqrt(d).",
    sig: [
      { name: "q", type: "tensor" },
      { name: "k", type: "tensor" },
      { name: "v", type: "tensor" },
      { name: "mask", type: "tensor", optional: true },
      { name: "causal", type: "bool", default: B(false) },
      { name: "scale", type: "float", optional: true },
    ],
    apply: sdpa,
  },
  {
    name: "causal_mask",
    doc:
      "bool [n, n], true where key j <= query i. n is an int, or a symbolic dim with like: a tensor that has it: causal_mask(T, like: ids).",
    sig: [{ name: "n", type: "any" }, { name: "like", type: "tensor", optional: true }],
    apply(ctx, a) {
      const p = positions(ctx, a.n, a.like, "causal_mask");
      if (!p) return ERROR;
      return causalFrom(ctx, p, p) ?? ERROR;
    },
  },
  {
    name: "padding_mask",
    doc:
      "bool [N, T], true at positions < lengths[n]: padding_mask(lengths, x, axis: 1) for lengths i64[N] and x with T at axis.",
    sig: [
      { name: "lengths", type: "tensor" },
      { name: "x", type: "tensor" },
      { name: "axis", type: "int", default: i(1) },
    ],
    apply(ctx, a) {
      const len = t(a.lengths), x = t(a.x);
      if (len.t.shape.length !== 1 || (len.t.dtype !== "i64" && len.t.dtype !== "i32")) {
        return ctx.error(
          ...diag("DLM0203", "padding_mask()", "lengths i64[N]", formatType(len.t)),
          ctx.argSpan("lengths"),
        );
      }
      const ax = normAxisArg(ctx, num(a.axis), x.t.shape.length, "padding_mask");
      if (ax === undefined) return ERROR;
      const p = rangeAlong(ctx, x, ax);
      return withGraph(ctx, (e) => {
        const l64 = len.t.dtype === "i64" ? e.tensor(len) : e.tensor(len).cast("i64");
        if (!p) throw new Reported();
        // positions[j] < lengths[n]
        return e.tensor(p).unsqueeze([0]).less(l64.unsqueeze([1]));
      }) ?? ERROR;
    },
  },
  {
    name: "attention_bias",
    doc:
      "Additive mask [N, 1, 1, S] from a 0/1 (or bool) attention_mask [N, S]: 0 where nonzero, the lowest float where 0 (BERT's extended mask).",
    sig: [{ name: "mask", type: "tensor" }, {
      name: "dtype",
      type: "str",
      default: { k: "str", v: "f32" },
    }],
    apply(ctx, a) {
      const m = t(a.mask);
      const dt = (a.dtype as { v: string }).v as DType;
      if (!FLOATS.has(dt)) {
        return ctx.error(
          ...diag("DLM0214", "attention_bias() dtype", "a float dtype", dt),
          ctx.argSpan("dtype"),
        );
      }
      if (m.t.shape.length !== 2) {
        return ctx.error(
          ...diag("DLM0203", "attention_bias()", "a mask [N, S]", formatType(m.t)),
          ctx.argSpan("mask"),
        );
      }
      // Any nonzero entry attends: go through bool so a mask of 0s and 1s and one of counts agree.
      return withGraph(ctx, (e) => {
        const mb = m.t.dtype === "bool" ? e.tensor(m) : e.tensor(m).cast("bool");
        const f = mb.cast(dt);
        // (1 - m) * lowest
        return e.scalar(1, dt).sub(f).mul(lowest(dt)).unsqueeze([1, 2]);
      }) ?? ERROR;
    },
  },
  {
    name: "sinusoidal_positions",
    doc:
      "The constant f32 [max_len, dim] table PE[pos, 2i] = sin(pos / 10000^(2i/dim)), PE[pos, 2i+1] = cos(...) " +
      "(Vaswani et al.); index it with gather(pe, arange(T, like: ids)).",
    sig: [
      { name: "max_len", type: "int" },
      { name: "dim", type: "int" },
      { name: "base", type: "float", default: fl(10000) },
    ],
    apply(ctx, a) {
      const n = num(a.max_len), d = num(a.dim);
      if (n <= 0 || d <= 0) {
        return ctx.error(
          ...diag("DLM0210", "sinusoidal_positions()", "positive max_len and dim", `${n} and ${d}`),
        );
      }
      return ctx.constant(sinusoidalTable(n, d, num(a.base)), "pe");
    },
  },
  {
    name: "rotary",
    doc:
      "Rotary position embedding (RoFormer) of q or k [..., T, d]: feature pairs rotated by pos * base^(-2i/d); " +
      "pairs (i, i + d/2) (rotate-half, GPT-NeoX/LLaMA) or (2i, 2i+1) with interleaved: true.",
    sig: [
      { name: "x", type: "tensor" },
      { name: "base", type: "float", default: fl(10000) },
      { name: "interleaved", type: "bool", default: B(false) },
    ],
    apply: rotary,
  },
];

const rmsNorm: LayerDef = {
  name: "rms_norm",
  doc: "RMS normalisation over the last dim: x / sqrt(mean(x^2) + eps) * weight; weight [d] = 1.",
  sig: [{ name: "eps", type: "float", default: fl(1e-6) }],
  apply(ctx, args, [x], prefix) {
    if (!needFloat(ctx, x, "rms_norm", "x")) return ERROR;
    const d = x.t.shape[x.t.shape.length - 1];
    if (typeof d !== "number") {
      return ctx.error(...diag("DLM0203", "rms_norm()", "a known last dim", formatType(x.t)));
    }
    const w = ctx.param(prefix, "weight", [d], { kind: "ones" }, { layer: "rms_norm" });
    if (!w) return ERROR;
    return withGraph(ctx, (e) => {
      const xv = e.tensor(x);
      // x / sqrt(mean(x^2) + eps) * weight
      const y = xv.div(xv.square().mean([-1], true).add(num(args.eps)).sqrt());
      return e.op1("Mul", [y, w.v], {}, { name: prefix });
    }) ?? ERROR;
  },
};

const relativeKeys: LayerDef = {
  name: "relative_position_keys",
  doc:
    "Shaw et al.'s relative position keys: for q [..., T, d], the logits q_i . w[clip(j - i, -k, k) + k] as [..., T, T], " +
    "to add to q k^T; weight [2k + 1, d] with k = max_distance.",
  sig: [{ name: "max_distance", type: "int" }],
  apply(ctx, args, [q], prefix) {
    const k = num(args.max_distance);
    if (k < 1) {
      return ctx.error(
        ...diag("DLM0210", "relative_position_keys()", "max_distance >= 1", k),
        ctx.argSpan("max_distance"),
      );
    }
    const r = q.t.shape.length;
    const d = q.t.shape[r - 1];
    if (r < 2 || typeof d !== "number") {
      return ctx.error(
        ...diag(
          "DLM0203",
          "relative_position_keys()",
          "q [..., T, d] with a known d",
          formatType(q.t),
        ),
      );
    }
    const w = ctx.param(prefix, "weight", [2 * k + 1, d], { kind: "normal", mean: 0, std: 1 }, {
      layer: "relative_position_keys",
    });
    if (!w) return ERROR;
    const emb = relativeEmbeddings(ctx, w, rangeAlong(ctx, q, r - 2), k);
    if (!emb) return ERROR;
    return withGraph(ctx, (e) => {
      // q_i . E[i, j] for every j: q_i as a row times E[i]^T.
      const et = e.tensor(emb).transpose([0, 2, 1]);
      const mm = e.tensor(q).unsqueeze([r - 1]).matmul(et);
      return e.op1("Squeeze", [mm, e.ints([r - 1])], {}, { name: prefix });
    }) ?? ERROR;
  },
};

/**
 * E[i, j] = w[clip(j - i, -k, k) + k] for positions p [T]: [T, T, dim], the 2k + 1 embeddings
 * of Shaw et al.'s relative positions gathered per (query, key) pair.
 */
function relativeEmbeddings(
  ctx: Ctx,
  w: TensorValue,
  p: TensorValue | undefined,
  k: number,
): TensorValue | undefined {
  if (!p) return undefined;
  return withGraph(ctx, (e) => {
    const pos = e.tensor(p);
    const rel = pos.unsqueeze([0]).sub(pos.unsqueeze([1]));
    // clip(j - i, -k, k) + k
    const idx = rel.max(-k).min(k).add(k);
    return e.tensor(w).op("Gather", [idx], { axis: 0 });
  });
}

const relativeValues: LayerDef = {
  name: "relative_position_values",
  doc:
    "Shaw et al.'s relative position values: for attention weights a [..., T, T], sum_j a_ij w[clip(j - i, -k, k) + k] " +
    "as [..., T, dim], to add to a v; weight [2k + 1, dim] with k = max_distance.",
  sig: [{ name: "dim", type: "int" }, { name: "max_distance", type: "int" }],
  apply(ctx, args, [a], prefix) {
    const k = num(args.max_distance), dim = num(args.dim);
    if (k < 1 || dim < 1) {
      return ctx.error(
        ...diag(
          "DLM0210",
          "relative_position_values()",
          "dim >= 1 and max_distance >= 1",
          `${dim} and ${k}`,
        ),
        ctx.argSpan(k < 1 ? "max_distance" : "dim"),
      );
    }
    const r = a.t.shape.length;
    if (r < 2) {
      return ctx.error(
        ...diag(
          "DLM0203",
          "relative_position_values()",
          "attention weights [..., T, T]",
          formatType(a.t),
        ),
      );
    }
    const w = ctx.param(prefix, "weight", [2 * k + 1, dim], { kind: "normal", mean: 0, std: 1 }, {
      layer: "relative_position_values",
    });
    if (!w) return ERROR;
    // E[i, j] = w[clip(j - i, -k, k) + k]: [T, T, dim]; out_i = sum_j a_ij E[i, j] = (a_i. as a row) @ E[i].
    const emb = relativeEmbeddings(ctx, w, rangeAlong(ctx, a, r - 1), k);
    if (!emb) return ERROR;
    return withGraph(ctx, (e) => {
      const mm = e.tensor(a).unsqueeze([r - 1]).matmul(e.tensor(emb));
      return e.op1("Squeeze", [mm, e.ints([r - 1])], {}, { name: prefix });
    }) ?? ERROR;
  },
};

const inProjection: LayerDef = {
  name: "in_projection",
  doc:
    "PyTorch MultiheadAttention's packed q/k/v projection: labelled in_proj it owns in_proj_weight [3 dim, E] and " +
    "in_proj_bias [3 dim] at its caller's level; applied to (q_in) or (q_in, kv_in), returns the tuple (q, k, v).",
  sig: [
    { name: "dim", type: "int" },
    { name: "bias", type: "bool", default: B(true) },
  ],
  inputs: [1, 2],
  apply(ctx, args, inputs, prefix) {
    const [qIn, kvIn = inputs[0]] = inputs;
    const dim = num(args.dim);
    const e = qIn.t.shape[qIn.t.shape.length - 1];
    const e2 = kvIn.t.shape[kvIn.t.shape.length - 1];
    if (typeof e !== "number" || e !== e2) {
      return ctx.error(
        ...diag(
          "DLM0203",
          "in_projection()",
          "inputs with the same known last dim",
          `${formatType(qIn.t)} and ${formatType(kvIn.t)}`,
        ),
      );
    }
    // `a.b.in_proj` owns `a.b.in_proj_weight`, as torch names it.
    const dot = prefix.lastIndexOf(".");
    const [level, leaf] = dot < 0 ? [prefix, ""] : [prefix.slice(0, dot), prefix.slice(dot + 1)];
    const role = (r: string) => (leaf ? `${leaf}_${r}` : r);
    const w = ctx.param(level, role("weight"), [3 * dim, e], { kind: "xavier_uniform", gain: 1 }, {
      layer: "in_projection",
    });
    const b = args.bias.k === "bool" && args.bias.v
      ? ctx.param(level, role("bias"), [3 * dim], { kind: "zeros" }, { layer: "in_projection" })
      : undefined;
    if (!w) return ERROR;
    const out: TensorValue[] = [];
    for (const [j, x] of [qIn, kvIn, kvIn].entries()) {
      const y = withGraph(ctx, (g) => {
        const lo = g.ints([j * dim]), hi = g.ints([(j + 1) * dim]), ax = g.ints([0]);
        // x W_j^T + b_j, with W_j and b_j rows j dim .. (j + 1) dim of the packed weight and bias
        const xw = g.tensor(x).matmul(g.tensor(w).op("Slice", [lo, hi, ax]).transpose([1, 0]));
        return b ? xw.add(g.tensor(b).op("Slice", [lo, hi, ax])) : xw;
      });
      if (!y) return ERROR;
      out.push(y);
    }
    return { k: "tuple", items: out };
  },
};

/** `a.b.leaf` -> ["a.b", "leaf"]: raw parameters take their label as their name, as torch's do. */
function levelAndLeaf(prefix: string): [string, string] {
  const dot = prefix.lastIndexOf(".");
  return dot < 0 ? [prefix, ""] : [prefix.slice(0, dot), prefix.slice(dot + 1)];
}

function rawParam(
  ctx: Ctx,
  prefix: string,
  shape: number[],
  init: InitSpec,
  layer: string,
): TensorValue | undefined {
  const [level, leaf] = levelAndLeaf(prefix);
  return leaf
    ? ctx.param(level, leaf, shape, init, { layer })
    : ctx.param(prefix, "weight", shape, init, { layer });
}

const TOKEN_INIT: InitSpec = { kind: "trunc_normal", mean: 0, std: 0.02, a: -2, b: 2 };

const prependToken: LayerDef = {
  name: "prepend_token",
  doc:
    "A learned token [1, 1, D] put before the sequence x [N, L, D] -> [N, L + 1, D] (ViT's class token); " +
    "labelled cls_token it is the parameter cls_token at its caller's level.",
  sig: [{ name: "init", type: "init", optional: true }],
  apply(ctx, args, [x], prefix) {
    const d = x.t.shape[2];
    if (x.t.shape.length !== 3 || typeof d !== "number") {
      return ctx.error(
        ...diag("DLM0203", "prepend_token()", "x [N, L, D] with a known D", formatType(x.t)),
      );
    }
    const w = rawParam(
      ctx,
      prefix,
      [1, 1, d],
      args.init ? ctx.initSpec(args.init) : TOKEN_INIT,
      "prepend_token",
    );
    if (!w) return ERROR;
    // [N, 1, D] of the token: x's first position times 0 plus the token keeps N symbolic and exact.
    return withGraph(ctx, (e) => {
      const first = e.tensor(x).op("Slice", [e.ints([0]), e.ints([1]), e.ints([1])]);
      const tok = first.mul(0).add(w.v);
      return e.op1("Concat", [tok, x.v], { axis: 1 }, { name: prefix });
    }) ?? ERROR;
  },
};

const addPositions: LayerDef = {
  name: "add_positions",
  doc: "Learned absolute positions for a fixed-length x [N, L, D]: x + p with p [1, L, D] " +
    "(ViT's position_embeddings; labelled so it is the parameter of that name at its caller's level).",
  sig: [{ name: "init", type: "init", optional: true }],
  apply(ctx, args, [x], prefix) {
    const shape = x.t.shape.slice(1);
    if (x.t.shape.length < 2 || shape.some((s) => typeof s !== "number")) {
      return ctx.error(
        ...diag(
          "DLM0203",
          "add_positions()",
          "x [N, L, ...] with known L and features",
          formatType(x.t),
        ),
      );
    }
    const p = rawParam(
      ctx,
      prefix,
      [1, ...(shape as number[])],
      args.init ? ctx.initSpec(args.init) : TOKEN_INIT,
      "add_positions",
    );
    return (p && withGraph(ctx, (e) => e.tensor(x).op("Add", [p.v], {}, { name: prefix }))) ??
      ERROR;
  },
};

const tiedLinear: LayerDef = {
  name: "tied_linear",
  doc:
    "A linear layer whose weight [out, in] is another layer's existing parameter, named below the call's " +
    "level or else an enclosing one (in a block, its own instance's layers first): " +
    'tied_linear("wte.weight", vocab) is GPT-2\'s LM head sharing the token embedding; y = x W^T (+ its own bias [out]).',
  sig: [
    { name: "weight", type: "str" },
    { name: "out", type: "int" },
    { name: "bias", type: "bool", default: B(false) },
  ],
  apply(ctx, args, [x], prefix) {
    const path = (args.weight as { v: string }).v;
    const out = num(args.out);
    const e = x.t.shape[x.t.shape.length - 1];
    if (typeof e !== "number") {
      return ctx.error(
        ...diag(
          "DLM0210",
          "tied_linear()",
          'a parameter name such as "wte.weight" and an input with a known last dim',
          `"${path}" and ${formatType(x.t)}`,
        ),
        ctx.argSpan("weight"),
      );
    }
    // The tied weight must exist already (a typo must not make a new one), named from this
    // level outwards: in a block applied twice each application ties to its own embedding.
    const w = ctx.paramRef(path, `tied_linear("${path}")`, ctx.argSpan("weight"));
    if (!w) return ERROR;
    if (w.t.shape.length !== 2 || w.t.shape[0] !== out || w.t.shape[1] !== e) {
      return ctx.error(
        ...diag(
          "DLM0210",
          "tied_linear()",
          `a weight [${out}, ${e}] (out, the input's last dim)`,
          `${w.v} ${formatType(w.t)}`,
        ),
        ctx.argSpan("weight"),
      );
    }
    const b = args.bias.k === "bool" && args.bias.v
      ? ctx.param(prefix, "bias", [out], { kind: "zeros" }, { layer: "tied_linear" })
      : undefined;
    const r = x.t.shape.length;
    if (r === 2) {
      return withGraph(
        ctx,
        (g) => g.op1("Gemm", [x.v, w.v, b?.v ?? ""], { transB: 1 }, { name: prefix }),
      ) ?? ERROR;
    }
    // [..., e] -> [M, e] -> Gemm with transB (the shared weight is read as it is: no
    // transposed copy of a 38M-value embedding) -> [..., out].
    const y = withGraph(ctx, (g) => {
      const xv = g.tensor(x);
      const mm = xv.reshape([-1, e]).op("Gemm", [w.v, b?.v ?? ""], { transB: 1 });
      const lead = xv.op("Shape", [], { start: 0, end: r - 1 });
      const full = g.op1("Concat", [lead, g.ints([out])], { axis: 0 });
      return g.op1("Reshape", [mm, full], {}, { name: prefix });
    });
    return y ? ctx.refine(y, { dtype: x.t.dtype, shape: [...x.t.shape.slice(0, -1), out] }) : ERROR;
  },
};

/** The attention functions by name. */
export const FUNCTIONS: Record<string, FnDef> = Object.fromEntries(fns.map((d) => [d.name, d]));
/** The attention layers by name. */
export const LAYERS: Record<string, LayerDef> = Object.fromEntries(
  [rmsNorm, relativeKeys, relativeValues, inProjection, prependToken, addPositions, tiedLinear].map(
    (
      d,
    ) => [d.name, d],
  ),
);
