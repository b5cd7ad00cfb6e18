/**
 * Data augmentation inside the training step, as torchvision's transforms:
 * each built-in acts in train mode only and is no node at all in eval mode
 * (as `drop_path`), so the evaluation model never sees it. Each draws its
 * per-sample parameters from one uniform draw u of shape [N, k] (one row an
 * image, one column a parameter; Gaussian noise is a normal draw of x's shape,
 * and mixup's and cutmix's Beta sampler adds its proposals), which training,
 * `dlm diff` and resume feed as inputs like every draw (runtime/train/
 * draws.ts): reproducible under --seed, the same on every backend, no loop
 * over the batch in the graph.
 * Everything lowers to plain ONNX ops; nothing here needs a gradient (it
 * acts on the data, before any parameter), though the ops carry their own.
 *
 * Geometry is one bilinear sampler (`sample`): out[n, :, r, s] is
 * x[n, :, sy, sx] at source coordinates (sy, sx)[n, r, s] in pixel units
 * (pixel centres at integers), interpolated from the four neighbours
 * (floor(sy) + {0, 1}, floor(sx) + {0, 1}) with weights (1 - fy or fy) *
 * (1 - fx or fx), and a neighbour outside the image contributing 0, which
 * is torch's grid_sample(align_corners=False, padding_mode="zeros") once
 * its normalised grid g is mapped back to pixels: sx = g W / 2 + (W - 1) / 2.
 * Each neighbour is one GatherElements over the flattened image.
 */
import { diag } from "../../diagnostics.ts";
import { type Dim, formatType } from "../../ir/graph.ts";
import type { Expr } from "../../ir/expr.ts";
import { tensor } from "../../ir/tensor.ts";
import type { Ctx } from "../context.ts";
import { num } from "../signature.ts";
import { describe, ERROR, type TensorValue, type Value } from "../values.ts";
import type { FnDef } from "./functions.ts";
import { noise } from "./random.ts";
import { B, type CtxGraph, fl, withGraph, withGraphs, X } from "./util.ts";

/** A batch of images f32[N, C, H, W] with C, H and W known. */
interface Img {
  x: TensorValue;
  n: Dim;
  c: number;
  h: number;
  w: number;
}

function image(ctx: Ctx, v: Value, what: string): Img | undefined {
  const x = v as TensorValue;
  const s = x.t.shape;
  if (
    s.length !== 4 || typeof s[1] !== "number" || typeof s[2] !== "number" ||
    typeof s[3] !== "number"
  ) {
    ctx.error(
      ...diag(
        "DLM0203",
        `${what}()`,
        "images f32[N, C, H, W] with C, H and W known",
        formatType(x.t),
      ),
      ctx.argSpan("x"),
    );
    return undefined;
  }
  if (x.t.dtype !== "f32") {
    ctx.error(...diag("DLM0207", `${what}()`, "f32 images", formatType(x.t)), ctx.argSpan("x"));
    return undefined;
  }
  return { x, n: s[0], c: s[1], h: s[2], w: s[3] };
}

/** Reports `arg` out of its range: "random_crop() p needs 0 <= p <= 1, got -0.5". */
function bad(ctx: Ctx, what: string, arg: string, needs: string, got: unknown): undefined {
  ctx.error(...diag("DLM0210", `${what}() ${arg}`, needs, String(got)), ctx.argSpan(arg));
  return undefined;
}

/** A probability argument in [0, 1]. */
function prob(ctx: Ctx, a: Record<string, Value>, what: string, arg = "p"): number | undefined {
  const p = num(a[arg]);
  return p >= 0 && p <= 1 ? p : bad(ctx, what, arg, "0 <= p <= 1", p);
}

/**
 * A range argument: a pair (lo, hi) with lo <= hi, or a number r meaning `single(r)` (torchvision's
 * degrees=10 for (-10, 10)); both ends inside [min, max].
 */
function range(
  ctx: Ctx,
  v: Value,
  what: string,
  arg: string,
  single: (r: number) => [number, number],
  min: number,
  max: number,
  shown: string,
): [number, number] | undefined {
  const items = v.k === "tuple" || v.k === "list" ? v.items : undefined;
  let lo: number, hi: number;
  if (items) {
    if (items.length !== 2 || !items.every((x) => x.k === "int" || x.k === "float")) {
      return bad(ctx, what, arg, "a number or a pair (lo, hi) of numbers", describe(v));
    }
    [lo, hi] = items.map(num);
    if (!(lo <= hi)) return bad(ctx, what, arg, "lo <= hi", `(${lo}, ${hi})`);
  } else if (v.k === "int" || v.k === "float") {
    if (!(num(v) >= 0)) return bad(ctx, what, arg, "a number >= 0", num(v));
    [lo, hi] = single(num(v));
  } else return bad(ctx, what, arg, "a number or a pair (lo, hi) of numbers", describe(v));
  if (!(lo >= min && hi <= max)) {
    return bad(ctx, what, arg, shown, items ? `(${lo}, ${hi})` : num(v));
  }
  return [lo, hi];
}

/** An output size: an int s (s x s) or a pair (h, w) of ints >= 1. */
function size(ctx: Ctx, v: Value, what: string): [number, number] | undefined {
  const items = v.k === "tuple" || v.k === "list" ? v.items : [v, v];
  if (items.length !== 2 || !items.every((x) => x.k === "int" && x.v >= 1)) {
    return bad(ctx, what, "size", "an int >= 1 or a pair (h, w) of them", describe(v));
  }
  const [h, w] = [num(items[0]), num(items[1])];
  // The output grid is a constant of h w coordinates: bounded as a tensor of the elaborator's.
  if (h * w > MAX_PIXELS) {
    return bad(ctx, what, "size", `at most ${MAX_PIXELS} pixels (2^24)`, `${h} x ${w}`);
  }
  return [h, w];
}

const MAX_PIXELS = 2 ** 24;

/** Per-image uniforms U[0, 1) of shape [N, k]: column j is parameter j's draw. */
function uniforms(ctx: Ctx, img: { n: Dim }, k: number, what: string): TensorValue | undefined {
  return noise(ctx, "RandomUniform", [img.n, k], "f32", { low: 0, high: 1 }, what);
}

/** Column j of u [N, k] as [N, 1]. */
function col(e: CtxGraph, u: Expr, j: number): Expr {
  return u.op("Slice", [e.ints([j]), e.ints([j + 1]), e.ints([1])]);
}

/** lo + u (hi - lo): U[lo, hi) from U[0, 1). */
function lerp(u: Expr, [lo, hi]: [number, number]): Expr {
  return hi === lo ? u.scale(0).add(lo) : u.scale(hi - lo).add(lo);
}

/** round(v) as floor(v + 1/2) (Python's round goes to even on halves). */
function round(v: Expr): Expr {
  return v.add(0.5).op("Floor");
}

/** A uniform integer of [0, k] from U[0, 1) (k [N, 1] or a number): min(floor(u (k + 1)), k). */
function randint(u: Expr, k: Expr | number): Expr {
  return typeof k === "number"
    ? u.scale(k + 1).op("Floor").min(k)
    : u.mul(k.add(1)).op("Floor").min(k);
}

/** The output grid's row and column indices, each f32[1, ho * wo] (row-major). */
function grid(e: CtxGraph, ho: number, wo: number): [Expr, Expr] {
  const ys: number[] = [], xs: number[] = [];
  for (let r = 0; r < ho; r++) for (let s = 0; s < wo; s++) ys.push(r), xs.push(s);
  return [e.constant(tensor("f32", [1, ho * wo], ys)), e.constant(tensor("f32", [1, ho * wo], xs))];
}

/**
 * x [N, C, H, W] sampled at (sy, sx) [N, ho * wo] (see the file's comment); `exact` when the
 * coordinates are integers, which needs one neighbour instead of four.
 */
function sample(
  e: CtxGraph,
  img: Img,
  sy: Expr,
  sx: Expr,
  ho: number,
  wo: number,
  exact = false,
): Expr {
  const { c, h, w } = img;
  const flat = e.tensor(img.x).reshape([0, c, h * w]);
  const y0 = exact ? sy : sy.op("Floor"), x0 = exact ? sx : sx.op("Floor");
  const fy = sy.sub(y0), fx = sx.sub(x0);
  let out: Expr | undefined;
  for (const [dy, dx] of exact ? [[0, 0]] : [[0, 0], [0, 1], [1, 0], [1, 1]]) {
    const yy = dy ? y0.add(1) : y0, xx = dx ? x0.add(1) : x0;
    const inside = yy.greaterOrEqual(0).and(yy.lessOrEqual(h - 1))
      .and(xx.greaterOrEqual(0)).and(xx.lessOrEqual(w - 1)).cast("f32");
    const weight = exact ? inside : (dy ? fy : fy.rsub(1)).mul(dx ? fx : fx.rsub(1)).mul(inside);
    // A neighbour outside the image reads a clamped one, weighted 0.
    const idx = yy.max(0).min(h - 1).scale(w).add(xx.max(0).min(w - 1)).cast("i64");
    const picked = flat.op("GatherElements", [idx.unsqueeze([1]).expand(e.ints([1, c, 1]))], {
      axis: 2,
    });
    const term = picked.mul(weight.unsqueeze([1]));
    out = out ? out.add(term) : term;
  }
  return out!.reshape([0, c, ho, wo]);
}

/** x flipped along `axis` where m [N, 1, 1, 1] is true. */
function flipWhere(e: CtxGraph, x: Expr, m: Expr, axis: number, len: number): Expr {
  const rev = e.constant(tensor("i64", [len], [...Array(len).keys()].reverse()));
  return m.where(x.op("Gather", [rev], { axis }), x);
}

/** Rank-4 view [N, 1, 1, 1] of a per-image column [N, 1]. */
function perImage(v: Expr): Expr {
  return v.unsqueeze([2, 3]);
}

function flip(name: string, axis: 2 | 3, torch: string): FnDef {
  const side = axis === 3 ? "left-right" : "top-bottom";
  return {
    name,
    doc: `Flip each image ${side} with probability p (each its own draw), in train mode; ` +
      `no node in eval mode. As torchvision's ${torch} on f32[N, C, H, W].`,
    sig: [X, { name: "p", type: "float", default: fl(0.5) }],
    apply(ctx, a) {
      const p = prob(ctx, a, name);
      const img = image(ctx, a.x, name);
      if (p === undefined || !img) return ERROR;
      if (ctx.mode === "eval" || p === 0) return img.x;
      const u = uniforms(ctx, img, 1, name);
      if (!u) return ERROR;
      return withGraph(ctx, (e) => {
        const m = perImage(e.tensor(u).less(p));
        return flipWhere(e, e.tensor(img.x), m, axis, axis === 3 ? img.w : img.h);
      }, "f32") ?? ERROR;
    },
  };
}

/**
 * Beta(alpha, alpha) per image, [N, 1]: G1 / (G1 + G2) with G1, G2 ~ Gamma(alpha), each by
 * Marsaglia and Tsang's method: for a >= 1, d = a - 1/3, c = 1 / sqrt(9 d), z ~ N(0, 1),
 * v = (1 + c z)^3, accept when v > 0 and log u < z^2 / 2 + d - d v + d log v, and G = d v;
 * for a < 1, G(a) = G(a + 1) U^(1 / a). The loop becomes 8 proposals side by side, the first
 * accepted one taken (ArgMax returns the first maximum): each is accepted with probability
 * above 0.95, so all 8 fail with probability below 1e-10 (and then the first stands).
 */
function betaDraw(ctx: Ctx, n: Dim, alpha: number, what: string): TensorValue | undefined {
  const K = 8;
  const z = noise(ctx, "RandomNormal", [n, 2, K], "f32", { mean: 0, scale: 1 }, what);
  const u = noise(ctx, "RandomUniform", [n, 2, K + 1], "f32", { low: 0, high: 1 }, what);
  if (!z || !u) return undefined;
  const a = alpha >= 1 ? alpha : alpha + 1;
  const d = a - 1 / 3, c = 1 / Math.sqrt(9 * d);
  return withGraph(ctx, (e) => {
    const zz = e.tensor(z), uu = e.tensor(u);
    const base = zz.scale(c).add(1);
    const v = base.mul(base).mul(base);
    const vs = v.max(1e-30);
    const lu = uu.op("Slice", [e.ints([0]), e.ints([K]), e.ints([2])]).max(1e-30).log();
    const bound = zz.mul(zz).scale(0.5).add(d).sub(v.scale(d)).add(vs.log().scale(d));
    const ok = base.greater(0).and(lu.less(bound)).cast("f32");
    const first = ok.op("ArgMax", [], { axis: 2, keepdims: 1 });
    let g = vs.op("GatherElements", [first], { axis: 2 }).scale(d); // [N, 2, 1]
    if (alpha < 1) {
      const boost = uu.op("Slice", [e.ints([K]), e.ints([K + 1]), e.ints([2])]);
      g = g.mul(boost.max(1e-30).pow(e.scalar(1 / alpha, "f32")));
    }
    const g1 = g.op("Slice", [e.ints([0]), e.ints([1]), e.ints([1])]).squeeze([1]);
    const g2 = g.op("Slice", [e.ints([1]), e.ints([2]), e.ints([1])]).squeeze([1]);
    const sum = g1.add(g2);
    // Both underflowing (tiny alpha) is a fair coin's worth of either image.
    return sum.greater(0).where(g1.div(sum.max(1e-30)), 0.5);
  }, "f32");
}

/** x rolled by one along the batch: out[i] = x[i - 1 mod N], torchvision v2's partner. */
function rollBatch(e: CtxGraph, x: Expr): Expr {
  const last = x.op("Slice", [e.ints([-1]), e.ints([2 ** 62]), e.ints([0])]);
  const rest = x.op("Slice", [e.ints([0]), e.ints([-1]), e.ints([0])]);
  const r = e.op1("Concat", [last, rest], { axis: 0 });
  return e.refine(r, x.type);
}

/** Eval mode's mixing weight: 1 per image, f32[N] (unread by mix_labels, removed as dead). */
function ones(ctx: Ctx, x: TensorValue): TensorValue | undefined {
  return withGraph(ctx, (e) => {
    const n = e.tensor(x).shape().op("Slice", [e.ints([0]), e.ints([1])]);
    const o = n.op("ConstantOfShape", [], { value: tensor("f32", [1], [1]) });
    return e.refine(o, { dtype: "f32", shape: [x.t.shape[0]] });
  });
}

const defs: FnDef[] = [
  flip("random_horizontal_flip", 3, "RandomHorizontalFlip(p)"),
  flip("random_vertical_flip", 2, "RandomVerticalFlip(p)"),
  {
    name: "random_crop",
    doc: "Pad each image by `padding` zeros on every side, then crop a size x size (or (h, w)) " +
      "window at a position drawn per image, in train mode; in eval mode the padded image's centre " +
      "(no node when size is the image's). As torchvision's RandomCrop(size, padding) with fill 0.",
    sig: [X, { name: "size", type: "any" }, {
      name: "padding",
      type: "int",
      default: { k: "int", v: 0 },
    }],
    apply(ctx, a) {
      const what = "random_crop";
      const img = image(ctx, a.x, what);
      const sz = size(ctx, a.size, what);
      if (!img || !sz) return ERROR;
      const pad = num(a.padding);
      if (pad < 0) return bad(ctx, what, "padding", "padding >= 0", pad) ?? ERROR;
      const [ho, wo] = sz, hp = img.h + 2 * pad, wp = img.w + 2 * pad;
      if (ho > hp || wo > wp) {
        return bad(
          ctx,
          what,
          "size",
          `at most the padded image's ${hp} x ${wp} (${img.h} x ${img.w} padded by ${pad})`,
          `${ho} x ${wo}`,
        ) ?? ERROR;
      }
      // Eval mode: no node when the size is the image's, else the padded image's centre.
      if (ctx.mode === "eval" && ho === img.h && wo === img.w) return img.x;
      const u = ctx.mode === "eval" ? undefined : uniforms(ctx, img, 2, what);
      if (ctx.mode !== "eval" && !u) return ERROR;
      // out[r, s] = padded[i + r, j + s] = x[i + r - pad, j + s - pad], zero outside x.
      return withGraph(ctx, (e) => {
        const uu = u && e.tensor(u);
        const i = uu ? randint(col(e, uu, 0), hp - ho) : e.scalar(Math.floor((hp - ho) / 2), "f32");
        const j = uu ? randint(col(e, uu, 1), wp - wo) : e.scalar(Math.floor((wp - wo) / 2), "f32");
        const [gy, gx] = grid(e, ho, wo);
        return sample(e, img, gy.add(i.add(-pad)), gx.add(j.add(-pad)), ho, wo, true);
      }, "f32") ?? ERROR;
    },
  },
  {
    name: "gaussian_noise",
    doc: "Add N(mean, std²) noise to every element in train mode (clip: true then clamps to " +
      "[0, 1]); no node in eval mode. As torchvision v2's GaussianNoise(mean, sigma, clip), " +
      "whose clip defaults to true.",
    sig: [
      X,
      { name: "std", type: "float", default: fl(0.1) },
      { name: "mean", type: "float", default: fl(0) },
      { name: "clip", type: "bool", default: B(false) },
    ],
    apply(ctx, a) {
      const x = a.x as TensorValue;
      const std = num(a.std);
      if (!(std >= 0)) return bad(ctx, "gaussian_noise", "std", "std >= 0", std) ?? ERROR;
      if (x.t.dtype !== "f32") {
        return ctx.error(
          ...diag("DLM0207", "gaussian_noise()", "an f32 tensor", formatType(x.t)),
          ctx.argSpan("x"),
        );
      }
      if (ctx.mode === "eval") return x;
      const z = noise(
        ctx,
        "RandomNormal",
        [...x.t.shape],
        "f32",
        {
          mean: num(a.mean),
          scale: std,
        },
        "gaussian_noise",
        x,
      );
      if (!z) return ERROR;
      return withGraph(ctx, (e) => {
        const y = e.tensor(x).add(e.tensor(z));
        return a.clip.k === "bool" && a.clip.v ? y.max(0).min(1) : y;
      }, "f32") ?? ERROR;
    },
  },
  {
    name: "random_erasing",
    doc: "With probability p per image, set a rectangle to `value`: its area a fraction of the " +
      "image drawn from `scale`, its aspect ratio h / w log-uniform in `ratio`, its position " +
      "uniform; in train mode, no node in eval mode. As torchvision's RandomErasing(p, scale, " +
      "ratio, value) with one attempt (spec/language.md 5.10).",
    sig: [
      X,
      { name: "p", type: "float", default: fl(0.5) },
      { name: "scale", type: "any", default: { k: "tuple", items: [fl(0.02), fl(0.33)] } },
      { name: "ratio", type: "any", default: { k: "tuple", items: [fl(0.3), fl(3.3)] } },
      { name: "value", type: "float", default: fl(0) },
    ],
    apply(ctx, a) {
      const what = "random_erasing";
      const p = prob(ctx, a, what);
      const img = image(ctx, a.x, what);
      const sc = range(ctx, a.scale, what, "scale", (r) => [r, r], 0, 1, "a pair within [0, 1]");
      const ra = range(ctx, a.ratio, what, "ratio", (r) => [r, r], 1e-6, Infinity, "ratios > 0");
      if (p === undefined || !img || !sc || !ra) return ERROR;
      if (ctx.mode === "eval" || p === 0) return img.x;
      const u = uniforms(ctx, img, 5, what);
      if (!u) return ERROR;
      const { h, w } = img;
      return withGraph(ctx, (e) => {
        const uu = e.tensor(u);
        const apply = col(e, uu, 0).less(p);
        // h_e = round(sqrt(A r)), w_e = round(sqrt(A / r)), each at most the image's less one.
        const area = lerp(col(e, uu, 1), sc).scale(h * w);
        const ar = lerp(col(e, uu, 2), [Math.log(ra[0]), Math.log(ra[1])]).exp();
        const eh = round(area.mul(ar).sqrt()).min(h - 1);
        const ew = round(area.div(ar).sqrt()).min(w - 1);
        const i = randint(col(e, uu, 3), eh.rsub(h)), j = randint(col(e, uu, 4), ew.rsub(w));
        const rows = e.constant(tensor("f32", [1, h], [...Array(h).keys()]));
        const cols = e.constant(tensor("f32", [1, w], [...Array(w).keys()]));
        const inRows = rows.greaterOrEqual(i).and(rows.less(i.add(eh))).and(apply); // [N, H]
        const inCols = cols.greaterOrEqual(j).and(cols.less(j.add(ew))); // [N, W]
        const box = inRows.unsqueeze([1, 3]).and(inCols.unsqueeze([1, 2]));
        return box.where(num(a.value), e.tensor(img.x));
      }, "f32") ?? ERROR;
    },
  },
  {
    name: "random_affine",
    doc: "Rotate, translate, scale and shear each image by its own draw, by bilinear sampling " +
      "about the image's centre (zeros outside), in train mode; no node in eval mode. degrees d " +
      "draws the angle from (-d, d) (or a pair), translate (fx, fy) a shift of at most fx W and " +
      "fy H pixels (rounded), scale a factor from a pair, shear an x-shear angle as degrees. As " +
      "torchvision's RandomAffine(degrees, translate, scale, shear, interpolation=BILINEAR).",
    sig: [
      X,
      { name: "degrees", type: "any", default: fl(0) },
      { name: "translate", type: "any", default: { k: "tuple", items: [fl(0), fl(0)] } },
      { name: "scale", type: "any", default: { k: "tuple", items: [fl(1), fl(1)] } },
      { name: "shear", type: "any", default: fl(0) },
    ],
    apply(ctx, a) {
      const what = "random_affine";
      const img = image(ctx, a.x, what);
      const sym = (r: number): [number, number] => [-r, r];
      const deg = range(ctx, a.degrees, what, "degrees", sym, -360, 360, "angles in [-360, 360]");
      const tr = range(
        ctx,
        a.translate,
        what,
        "translate",
        (r) => [r, r],
        0,
        1,
        "fractions in [0, 1]",
      );
      const sc = range(ctx, a.scale, what, "scale", (r) => [r, r], 1e-6, Infinity, "factors > 0");
      const sh = range(ctx, a.shear, what, "shear", sym, -89, 89, "angles in (-90, 90)");
      if (!img || !deg || !tr || !sc || !sh) return ERROR;
      if (ctx.mode === "eval") return img.x;
      const u = uniforms(ctx, img, 5, what);
      if (!u) return ERROR;
      const { h, w } = img;
      const rad = Math.PI / 180;
      return withGraph(ctx, (e) => {
        const uu = e.tensor(u);
        const rot = lerp(col(e, uu, 0), deg).scale(rad);
        const tx = round(lerp(col(e, uu, 1), [-tr[0] * w, tr[0] * w]));
        const ty = round(lerp(col(e, uu, 2), [-tr[1] * h, tr[1] * h]));
        const s = lerp(col(e, uu, 3), sc);
        const shx = lerp(col(e, uu, 4), sh).scale(rad);
        // torchvision's _get_inverse_affine_matrix with centre 0 and no y-shear:
        //   [a b; c d] = R(rot) Shear(shx) = [cos  -cos tan(shx) - sin; sin  -sin tan(shx) + cos]
        //   (det 1), so M^-1 = [d -b; -c a] / s, and src - ctr = M^-1 (dst - ctr - t).
        const cos = rot.cos(), sin = rot.sin(), tan = shx.sin().div(shx.cos());
        const a_ = cos, b_ = cos.mul(tan).add(sin).neg();
        const c_ = sin, d_ = cos.sub(sin.mul(tan));
        const m0 = d_.div(s), m1 = b_.neg().div(s), m3 = c_.neg().div(s), m4 = a_.div(s);
        const [gy, gx] = grid(e, h, w);
        const xc = gx.add(-(w - 1) / 2).sub(tx), yc = gy.add(-(h - 1) / 2).sub(ty);
        const sx = m0.mul(xc).add(m1.mul(yc)).add((w - 1) / 2);
        const sy = m3.mul(xc).add(m4.mul(yc)).add((h - 1) / 2);
        return sample(e, img, sy, sx, h, w);
      }, "f32") ?? ERROR;
    },
  },
  {
    name: "random_resized_crop",
    doc:
      "Crop a window of each image, its area a fraction of the image drawn from `scale` and its " +
      "aspect ratio w / h log-uniform in `ratio`, at a uniform position, and resize it to size " +
      "(bilinear), in train mode; in eval mode the whole image resized to size (no node when it " +
      "is the image's). As " +
      "torchvision's RandomResizedCrop(size, scale, ratio, antialias=False) with one attempt.",
    sig: [
      X,
      { name: "size", type: "any" },
      { name: "scale", type: "any", default: { k: "tuple", items: [fl(0.08), fl(1)] } },
      { name: "ratio", type: "any", default: { k: "tuple", items: [fl(3 / 4), fl(4 / 3)] } },
    ],
    apply(ctx, a) {
      const what = "random_resized_crop";
      const img = image(ctx, a.x, what);
      const sz = size(ctx, a.size, what);
      const sc = range(ctx, a.scale, what, "scale", (r) => [r, r], 1e-6, 1, "a pair within (0, 1]");
      const ra = range(ctx, a.ratio, what, "ratio", (r) => [r, r], 1e-6, Infinity, "ratios > 0");
      if (!img || !sz || !sc || !ra) return ERROR;
      const [ho, wo] = sz;
      // Eval mode: no node when the size is the image's, else the whole image resized.
      if (ctx.mode === "eval" && ho === img.h && wo === img.w) return img.x;
      const u = ctx.mode === "eval" ? undefined : uniforms(ctx, img, 4, what);
      if (ctx.mode !== "eval" && !u) return ERROR;
      const { h, w } = img;
      return withGraph(ctx, (e) => {
        const [gy, gx] = grid(e, ho, wo);
        if (!u) {
          const sy = gy.add(0.5).scale(h / ho).add(-0.5).max(0).min(h - 1);
          const sx = gx.add(0.5).scale(w / wo).add(-0.5).max(0).min(w - 1);
          return sample(e, img, sy, sx, ho, wo);
        }
        const uu = e.tensor(u);
        // cw = round(sqrt(A r)), ch = round(sqrt(A / r)), clamped into the image.
        const area = lerp(col(e, uu, 0), sc).scale(h * w);
        const ar = lerp(col(e, uu, 1), [Math.log(ra[0]), Math.log(ra[1])]).exp();
        const cw = round(area.mul(ar).sqrt()).max(1).min(w);
        const ch = round(area.div(ar).sqrt()).max(1).min(h);
        const i = randint(col(e, uu, 2), ch.rsub(h)), j = randint(col(e, uu, 3), cw.rsub(w));
        // torch's bilinear resize (align_corners=False): src = (dst + 1/2) ch / ho - 1/2, clamped
        // below at 0 and reading the last row past the end (the same as clamping at ch - 1).
        const sy = gy.add(0.5).mul(ch.scale(1 / ho)).add(-0.5).max(0).min(ch.add(-1)).add(i);
        const sx = gx.add(0.5).mul(cw.scale(1 / wo)).add(-0.5).max(0).min(cw.add(-1)).add(j);
        return sample(e, img, sy, sx, ho, wo);
      }, "f32") ?? ERROR;
    },
  },
  {
    name: "color_jitter",
    doc:
      "Change each image's brightness, contrast, saturation and hue by factors drawn per image, " +
      "in that order, in train mode; no node in eval mode. brightness b draws a factor from " +
      "[max(0, 1 - b), 1 + b] (or a pair), likewise contrast and saturation; hue h a shift of " +
      "the hue from [-h, h] with h <= 0.5 (or a pair within [-0.5, 0.5]). Saturation and hue " +
      "need RGB images f32[N, 3, H, W] in [0, 1]. As torchvision's ColorJitter, whose order is " +
      "random (spec/language.md 5.10).",
    sig: [
      X,
      { name: "brightness", type: "any", default: fl(0) },
      { name: "contrast", type: "any", default: fl(0) },
      { name: "saturation", type: "any", default: fl(0) },
      { name: "hue", type: "any", default: fl(0) },
    ],
    apply(ctx, a) {
      const what = "color_jitter";
      const img = image(ctx, a.x, what);
      const around = (r: number): [number, number] => [Math.max(0, 1 - r), 1 + r];
      const f = (arg: string) => range(ctx, a[arg], what, arg, around, 0, Infinity, "factors >= 0");
      const b = f("brightness"), c = f("contrast"), s = f("saturation");
      const hu = range(ctx, a.hue, what, "hue", (r) => [-r, r], -0.5, 0.5, "hue in [-0.5, 0.5]");
      if (!img || !b || !c || !s || !hu) return ERROR;
      const same = (r: [number, number]) => r[0] === 1 && r[1] === 1;
      const colour = !same(s) || hu[0] !== 0 || hu[1] !== 0;
      if (colour && img.c !== 3) {
        return bad(
          ctx,
          what,
          !same(s) ? "saturation" : "hue",
          "RGB images f32[N, 3, H, W]",
          formatType(img.x.t),
        ) ?? ERROR;
      }
      if (ctx.mode === "eval") return img.x;
      const u = uniforms(ctx, img, 4, what);
      if (!u) return ERROR;
      return withGraph(ctx, (e) => {
        const uu = e.tensor(u);
        let x = e.tensor(img.x);
        const factor = (j: number, r: [number, number]) => perImage(lerp(col(e, uu, j), r));
        // blend(x, y, k) = clamp(k x + (1 - k) y, 0, 1), torchvision's _blend for floats.
        const blend = (y: Expr | number, k: Expr) => {
          const kx = x.mul(k);
          return (typeof y === "number" ? kx : kx.add(k.rsub(1).mul(y))).max(0).min(1);
        };
        const gray = () => {
          const ch = (i: number) => x.op("Slice", [e.ints([i]), e.ints([i + 1]), e.ints([1])]);
          return ch(0).scale(0.2989).add(ch(1).scale(0.587)).add(ch(2).scale(0.114));
        };
        if (!same(b)) x = blend(0, factor(0, b));
        if (!same(c)) {
          const m = (img.c === 3 ? gray() : x).mean([1, 2, 3], true);
          x = blend(m, factor(1, c));
        }
        if (!same(s)) x = blend(gray(), factor(2, s));
        if (hu[0] !== 0 || hu[1] !== 0) x = hueShift(e, x, factor(3, hu));
        return x;
      }, "f32") ?? ERROR;
    },
  },
  {
    name: "mixup",
    doc:
      "Mix each sample with its neighbour in the batch (sample i with i - 1, the first with the " +
      "last, as torchvision v2's MixUp): x' = lam x + (1 - lam) x_rolled with lam ~ Beta(alpha, " +
      "alpha) drawn per sample; returns (x', lam) with lam f32[N], for mix_labels. In eval mode " +
      "x unchanged and lam 1.",
    sig: [X, { name: "alpha", type: "float", default: fl(1) }],
    apply(ctx, a) {
      const x = a.x as TensorValue;
      const alpha = num(a.alpha);
      if (!(alpha > 0)) return bad(ctx, "mixup", "alpha", "alpha > 0", alpha) ?? ERROR;
      if (x.t.dtype !== "f32" || x.t.shape.length < 1) {
        return ctx.error(
          ...diag("DLM0207", "mixup()", "an f32 batch [N, ...]", formatType(x.t)),
          ctx.argSpan("x"),
        );
      }
      if (ctx.mode === "eval") {
        const one = ones(ctx, x);
        return one ? { k: "tuple", items: [x, one] } : ERROR;
      }
      const lam = betaDraw(ctx, x.t.shape[0], alpha, "mixup");
      if (!lam) return ERROR;
      const r = withGraphs(ctx, (e) => {
        const xx = e.tensor(x), l = e.tensor(lam);
        const lx = l.reshape([0, ...x.t.shape.slice(1).map(() => 1)]);
        const mixed = xx.mul(lx).add(rollBatch(e, xx).mul(lx.rsub(1)));
        return [mixed, l.squeeze([1])];
      }, "f32");
      return r ? { k: "tuple", items: r } : ERROR;
    },
  },
  {
    name: "cutmix",
    doc: "Paste into each image a box of its neighbour in the batch (image i gets i - 1's, the " +
      "first the last's, as torchvision v2's CutMix): with lam ~ Beta(alpha, alpha) per image, " +
      "a box of half-sides sqrt(1 - lam) W / 2 and H / 2 (truncated) centred at a uniform pixel, " +
      "clipped to the image; returns (x', lam) with lam f32[N] = 1 - the box's share of the " +
      "image, for mix_labels. In eval mode x unchanged and lam 1.",
    sig: [X, { name: "alpha", type: "float", default: fl(1) }],
    apply(ctx, a) {
      const what = "cutmix";
      const alpha = num(a.alpha);
      if (!(alpha > 0)) return bad(ctx, what, "alpha", "alpha > 0", alpha) ?? ERROR;
      const img = image(ctx, a.x, what);
      if (!img) return ERROR;
      if (ctx.mode === "eval") {
        const one = ones(ctx, img.x);
        return one ? { k: "tuple", items: [img.x, one] } : ERROR;
      }
      const lam = betaDraw(ctx, img.n, alpha, what);
      const u = uniforms(ctx, img, 2, what);
      if (!lam || !u) return ERROR;
      const { h, w } = img;
      const r = withGraphs(ctx, (e) => {
        const uu = e.tensor(u), l = e.tensor(lam);
        const cx = randint(col(e, uu, 0), w - 1), cy = randint(col(e, uu, 1), h - 1);
        // r = sqrt(1 - lam) / 2; half-sides int(r W), int(r H) (floor: r >= 0).
        const half = l.rsub(1).max(0).sqrt().scale(0.5);
        const hw = half.scale(w).op("Floor"), hh = half.scale(h).op("Floor");
        const x1 = cx.sub(hw).max(0), x2 = cx.add(hw).min(w);
        const y1 = cy.sub(hh).max(0), y2 = cy.add(hh).min(h);
        const rows = e.constant(tensor("f32", [1, h], [...Array(h).keys()]));
        const cols = e.constant(tensor("f32", [1, w], [...Array(w).keys()]));
        const inRows = rows.greaterOrEqual(y1).and(rows.less(y2));
        const inCols = cols.greaterOrEqual(x1).and(cols.less(x2));
        const box = inRows.unsqueeze([1, 3]).and(inCols.unsqueeze([1, 2]));
        const xx = e.tensor(img.x);
        const mixed = box.where(rollBatch(e, xx), xx);
        const adj = x2.sub(x1).mul(y2.sub(y1)).scale(1 / (h * w)).rsub(1);
        return [mixed, adj.squeeze([1])];
      }, "f32");
      return r ? { k: "tuple", items: r } : ERROR;
    },
  },
  {
    name: "mix_labels",
    doc: "The targets of a batch that mixup or cutmix mixed: lam y + (1 - lam) y_rolled, f32[N, " +
      "classes], from i64 class indices y[N] (one-hot over `classes`) or probabilities f32[N, " +
      "K]; for cross_entropy's probability target. In eval mode the targets unmixed.",
    sig: [
      { name: "target", type: "tensor" },
      { name: "lam", type: "tensor" },
      { name: "classes", type: "int", optional: true },
    ],
    apply(ctx, a) {
      const y = a.target as TensorValue, lam = a.lam as TensorValue;
      const n = y.t.shape[0];
      if (y.t.dtype === "i64" && y.t.shape.length === 1) {
        if (!a.classes) {
          return ctx.error(
            ...diag("DLM0223", "mix_labels() of class indices", "classes: the number of classes"),
          );
        }
      } else if (y.t.dtype !== "f32" || y.t.shape.length !== 2) {
        return ctx.error(
          ...diag(
            "DLM0207",
            "mix_labels()",
            "i64 class indices [N] or f32 probabilities [N, K]",
            formatType(y.t),
          ),
          ctx.argSpan("target"),
        );
      }
      const k = a.classes ? num(a.classes) : 0;
      if (a.classes && k < 1) return bad(ctx, "mix_labels", "classes", "classes >= 1", k) ?? ERROR;
      if (lam.t.dtype !== "f32" || lam.t.shape.length !== 1) {
        return ctx.error(
          ...diag("DLM0207", "mix_labels()", "lam f32[N] (mixup's or cutmix's)", formatType(lam.t)),
          ctx.argSpan("lam"),
        );
      }
      // One lam a target row: lam's rows are the target's (or one for all), else the product
      // would broadcast to another batch than the target's.
      const m = lam.t.shape[0];
      if (m !== n && m !== 1) {
        return ctx.error(
          ...diag(
            "DLM0203",
            "mix_labels()",
            `lam f32[${n}] with a row for each of the target's ${n} rows`,
            formatType(lam.t),
          ),
          ctx.argSpan("lam"),
        );
      }
      return withGraph(ctx, (e) => {
        const yy = e.tensor(y);
        const q = y.t.dtype === "i64"
          ? yy.unsqueeze([1]).equal(e.constant(tensor("i64", [1, k], [...Array(k).keys()])))
            .cast("f32")
          : yy;
        if (ctx.mode === "eval") return q;
        const l = e.tensor(lam).unsqueeze([1]);
        return e.refine(q.mul(l).add(rollBatch(e, q).mul(l.rsub(1))), {
          dtype: "f32",
          shape: [n, y.t.dtype === "i64" ? k : y.t.shape[1]],
        });
      }, "f32") ?? ERROR;
    },
  },
];

export const FUNCTIONS: Record<string, FnDef> = Object.fromEntries(defs.map((d) => [d.name, d]));

/**
 * adjust_hue as torchvision's tensor code: RGB to HSV (h = the hue sextant's offset plus the
 * position within it, / 6, mod 1; s = (max - min) / max; v = max), h shifted by `shift` mod 1,
 * and back: with i = floor(6 h) mod 6, f = 6 h - floor(6 h), p = v (1 - s), q = v (1 - s f),
 * t = v (1 - s (1 - f)), (r, g, b) is row i of
 * [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)].
 * x mod 1 is x - floor(x) (Python's %, which torch's fmod equals on the positive h / 6 + 1).
 */
function hueShift(e: CtxGraph, x: Expr, shift: Expr): Expr {
  const ch = (i: number) => x.op("Slice", [e.ints([i]), e.ints([i + 1]), e.ints([1])]);
  const r = ch(0), g = ch(1), b = ch(2);
  const maxc = r.max(g).max(b), minc = r.min(g).min(b);
  const eqc = maxc.equal(minc);
  const cr = maxc.sub(minc);
  const s = cr.div(eqc.where(1, maxc));
  const crd = eqc.where(1, cr);
  const rc = maxc.sub(r).div(crd), gc = maxc.sub(g).div(crd), bc = maxc.sub(b).div(crd);
  const isR = maxc.equal(r), isG = maxc.equal(g);
  const hr = isR.cast("f32").mul(bc.sub(gc));
  const hg = isG.and(isR.not()).cast("f32").mul(rc.sub(bc).add(2));
  const hb = isG.not().and(isR.not()).cast("f32").mul(gc.sub(rc).add(4));
  const frac = (v: Expr) => v.sub(v.op("Floor"));
  let h = frac(hr.add(hg).add(hb).scale(1 / 6).add(1));
  h = frac(h.add(shift));
  const v = maxc;
  const h6 = h.scale(6), fl6 = h6.op("Floor");
  const f = h6.sub(fl6);
  const i = fl6.sub(fl6.scale(1 / 6).op("Floor").scale(6)); // floor(6 h) mod 6
  const clamp = (t: Expr) => t.max(0).min(1);
  const p = clamp(v.mul(s.rsub(1)));
  const q = clamp(v.mul(s.mul(f).rsub(1)));
  const t = clamp(v.mul(s.mul(f.rsub(1)).rsub(1)));
  const pick = (vals: Expr[]) => {
    let out = vals[5];
    for (let k = 4; k >= 0; k--) out = i.equal(k).where(vals[k], out);
    return out;
  };
  const rr = pick([v, q, p, p, t, v]);
  const gg = pick([t, v, v, q, p, p]);
  const bb = pick([p, p, t, v, v, q]);
  return e.op1("Concat", [rr, gg, bb], { axis: 1 });
}
