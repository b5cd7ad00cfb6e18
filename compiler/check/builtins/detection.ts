/**
 * Detection built-ins, following torchvision's conventions (boxes as
 * [x1, y1, x2, y2]): `box_iou`, `generalized_box_iou`, `nms` (ONNX NonMaxSuppression),
 * `roi_align` (ONNX RoiAlign), `roi_pool` (ONNX MaxRoiPool, torchvision's
 * RoIPool), `anchors` (torchvision's AnchorGenerator
 * grid, a compile-time constant) and `decode_boxes` / `encode_boxes`
 * (torchvision's BoxCoder, the Faster R-CNN parameterisation).
 */
import { formatType } from "../../ir/graph.ts";
import { table, tensor } from "../../ir/tensor.ts";
import type { Ctx } from "../context.ts";
import { num, positivePair } from "../signature.ts";
import { describe, ERROR, type TensorValue, type Value } from "../values.ts";
import type { FnDef } from "./functions.ts";
import type { Expr } from "../../ir/expr.ts";
import { B, type CtxGraph, fl, i, Reported, t, withGraph } from "./util.ts";
import { diag } from "../../diagnostics.ts";
import { LIMITS } from "../limits.ts";

const FOUR: Value = { k: "tuple", items: [fl(1), fl(1), fl(1), fl(1)] };

/** The four coordinates of boxes [..., 4], each [..., 1]. */
function corners(e: CtxGraph, b: TensorValue): Expr[] {
  return e.op("Split", [e.tensor(b), e.ints([1, 1, 1, 1])], { axis: -1 }, { nOutputs: 4 });
}

/**
 * A box formula: numbers are f32 scalars, and after the first op that
 * reports a shape error (boxes that do not broadcast) the result is the
 * poison value.
 */
function boxFormula(ctx: Ctx, body: (e: CtxGraph) => Expr): Value {
  return withGraph(ctx, body, "f32") ?? ERROR;
}

function needBoxes(ctx: Ctx, b: TensorValue, what: string, fn: string, arg: string): boolean {
  const d = b.t.shape[b.t.shape.length - 1];
  if (b.t.shape.length >= 1 && d === 4 && b.t.dtype === "f32") return true;
  ctx.error(
    ...diag("DLM0203", `${fn}()`, `${what} as f32[..., 4] boxes (x1, y1, x2, y2)`, formatType(b.t)),
    ctx.argSpan(arg),
  );
  return false;
}

/**
 * Checks pairwise box arguments a [..., M, 4] and b [..., K, 4] of `fn` and
 * builds `formula` over a's coordinates as columns [..., M, 1] and b's as rows
 * [..., 1, K], so that every result broadcasts to [..., M, K].
 */
function pairwise(
  ctx: Ctx,
  args: Record<string, Value>,
  fn: string,
  formula: (e: CtxGraph, a: Expr[], b: Expr[]) => Expr,
): Value {
  const a = t(args.a), b = t(args.b);
  if (!needBoxes(ctx, a, "a", fn, "a") || !needBoxes(ctx, b, "b", fn, "b")) return ERROR;
  if (a.t.shape.length < 2 || b.t.shape.length !== a.t.shape.length) {
    return ctx.error(
      ...diag(
        "DLM0203",
        `${fn}()`,
        "a [..., M, 4] and b [..., K, 4] of the same rank",
        `${formatType(a.t)} and ${formatType(b.t)}`,
      ),
    );
  }
  return boxFormula(ctx, (e) => {
    const r = a.t.shape.length;
    const perm = [...Array(r).keys()];
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return formula(e, corners(e, a), corners(e, b).map((c) => c.transpose(perm)));
  });
}

/** Intersection and union of boxes given as broadcasting corners (x1, y1, x2, y2). */
function interUnion(a: Expr[], b: Expr[]): { inter: Expr; union: Expr } {
  const [ax1, ay1, ax2, ay2] = a, [bx1, by1, bx2, by2] = b;
  const iw = ax2.min(bx2).sub(ax1.max(bx1)).relu();
  const ih = ay2.min(by2).sub(ay1.max(by1)).relu();
  const inter = iw.mul(ih);
  const areaA = ax2.sub(ax1).mul(ay2.sub(ay1));
  const areaB = bx2.sub(bx1).mul(by2.sub(by1));
  return { inter, union: areaA.add(areaB).sub(inter) };
}

const boxIou: FnDef = {
  name: "box_iou",
  doc:
    "Intersection over union of boxes a [..., M, 4] and b [..., K, 4] (x1, y1, x2, y2): [..., M, K] (torchvision.ops.box_iou).",
  sig: [{ name: "a", type: "tensor" }, { name: "b", type: "tensor" }],
  apply(ctx, args) {
    // intersection / (area a + area b - intersection)
    return pairwise(ctx, args, "box_iou", (_e, a, b) => {
      const { inter, union } = interUnion(a, b);
      return inter.div(union);
    });
  },
};

/**
 * Generalised IoU (Rezatofighi et al., 2019), DETR's box cost and loss: with U the union and C
 * the area of the smallest box enclosing both,
 *
 *   GIoU = IoU - (C - U) / C,   in [-1, 1];  1 - GIoU is a distance that still has a gradient
 *                               when the boxes do not overlap (IoU = 0 has none there).
 *
 * Its gradient is the chain rule through min/max/relu/div: d(-(C - U)/C) = d(U/C) - 0, so
 * dGIoU = d(I/U) + d(U/C), with dC flowing only into the extreme coordinates (the Max/Min
 * gradients pick the larger/smaller side, as torch's max/min do away from ties).
 */
const generalizedBoxIou: FnDef = {
  name: "generalized_box_iou",
  doc:
    "Generalised intersection over union of boxes a [..., M, 4] and b [..., K, 4] (x1, y1, x2, y2): IoU - (C - U) / C with C the area of the smallest box enclosing both and U their union, [..., M, K] in [-1, 1] (torchvision.ops.generalized_box_iou); differentiable, so 1 - GIoU serves as a box loss (DETR).",
  sig: [{ name: "a", type: "tensor" }, { name: "b", type: "tensor" }],
  apply(ctx, args) {
    return pairwise(ctx, args, "generalized_box_iou", (_e, a, b) => {
      const { inter, union } = interUnion(a, b);
      const [ax1, ay1, ax2, ay2] = a, [bx1, by1, bx2, by2] = b;
      const cw = ax2.max(bx2).sub(ax1.min(bx1)).relu();
      const ch = ay2.max(by2).sub(ay1.min(by1)).relu();
      const hull = cw.mul(ch);
      return inter.div(union).sub(hull.sub(union).div(hull));
    });
  },
};

const nms: FnDef = {
  name: "nms",
  doc:
    "Non-maximum suppression (ONNX NonMaxSuppression): for boxes [N, 4] and scores [N], the i64 indices of the kept boxes, highest score first (torchvision.ops.nms); for boxes [B, N, 4] and scores [B, C, N], the kept (batch, class, box) triples [K, 3]. iou: the overlap above which a lower-scored box is dropped; max_boxes per class (0: all); score_threshold drops boxes scored below it.",
  sig: [
    { name: "boxes", type: "tensor" },
    { name: "scores", type: "tensor" },
    { name: "iou", type: "float", default: fl(0.5) },
    { name: "max_boxes", type: "int", default: i(0) },
    { name: "score_threshold", type: "float", optional: true },
  ],
  apply(ctx, args) {
    const boxes = t(args.boxes), scores = t(args.scores);
    if (!needBoxes(ctx, boxes, "boxes", "nms", "boxes")) return ERROR;
    const simple = boxes.t.shape.length === 2 && scores.t.shape.length === 1;
    const batched = boxes.t.shape.length === 3 && scores.t.shape.length === 3;
    if ((!simple && !batched) || scores.t.dtype !== "f32") {
      return ctx.error(
        ...diag(
          "DLM0203",
          "nms()",
          "boxes [N, 4] with scores f32[N], or boxes [B, N, 4] with scores f32[B, C, N]",
          `${formatType(boxes.t)} and ${formatType(scores.t)}`,
        ),
      );
    }
    const iou = num(args.iou);
    if (iou < 0 || iou > 1) {
      return ctx.error(...diag("DLM0210", "nms()", "0 <= iou <= 1", iou), ctx.argSpan("iou"));
    }
    const maxBoxes = num(args.max_boxes);
    if (maxBoxes < 0) {
      return ctx.error(...diag("DLM0210", "nms()", "max_boxes >= 0", maxBoxes));
    }
    // ONNX counts 0 as "select none"; here 0 means no limit.
    const limit = maxBoxes === 0 ? 2 ** 31 - 1 : maxBoxes;
    return withGraph(ctx, (e) => {
      const b3 = simple ? e.tensor(boxes).unsqueeze([0]) : e.tensor(boxes);
      const s3 = simple ? e.tensor(scores).unsqueeze([0, 1]) : e.tensor(scores);
      const inputs = [
        b3,
        s3,
        e.constant(tensor("i64", [1], [limit])),
        e.constant(tensor("f32", [1], [iou])),
      ];
      if (args.score_threshold) {
        inputs.push(e.constant(tensor("f32", [1], [num(args.score_threshold)])));
      }
      const sel = e.op1("NonMaxSuppression", inputs);
      // The box index column of the (batch, class, box) triples.
      return simple ? sel.op("Gather", [e.scalar(2, "i64")], { axis: 1 }) : sel;
    }) ?? ERROR;
  },
};

const roiAlign: FnDef = {
  name: "roi_align",
  doc:
    'RoI Align (ONNX RoiAlign; torchvision.ops.roi_align): features x [N, C, H, W] pooled over rois [R, 4] (x1, y1, x2, y2 in image coordinates, scaled by spatial_scale > 0) into [R, C, h, w]. batch_indices i64[R] says which image each roi is in (default all 0); aligned: true shifts by half a pixel (torchvision\'s aligned=True); sampling_ratio 0 is adaptive (torchvision\'s -1), else at most the feature map\'s larger side; mode "avg" or "max". Differentiable with respect to x (torchvision\'s backward) in mode "avg" with a fixed sampling_ratio > 0 (torchvision\'s Faster R-CNN uses 2); rois get no gradient.',
  sig: [
    { name: "x", type: "tensor" },
    { name: "rois", type: "tensor" },
    { name: "output", type: "ints" },
    { name: "batch_indices", type: "tensor", optional: true },
    { name: "spatial_scale", type: "float", default: fl(1) },
    { name: "sampling_ratio", type: "int", default: i(0) },
    { name: "aligned", type: "bool", default: B(true) },
    { name: "mode", type: "str", default: { k: "str", v: "avg" } },
  ],
  apply(ctx, args) {
    const x = t(args.x), rois = t(args.rois);
    const out = pooledSize(ctx, args, "roi_align");
    if (!out) return ERROR;
    if (!positiveScale(ctx, args, "roi_align")) return ERROR;
    // onnxruntime's RoiAlign tabulates h w ratio^2 sample points a roi, 32 bytes each (and the
    // gradient as many): sampling_ratio 1000000 was std::bad_alloc at the step. A bin spans at
    // most the feature map, so ratio samples a side more than the map's larger side sample it
    // finer than its pixels: that is the bound (the tensor limit when the map's size is unknown).
    const ratio = num(args.sampling_ratio);
    const [hx, wx] = x.t.shape.slice(2);
    const side = typeof hx === "number" && typeof wx === "number" ? Math.max(hx, wx) : undefined;
    const most = side ?? Math.floor(Math.sqrt(LIMITS.tensorElements / (out[0] * out[1])));
    if (!(ratio >= 0 && ratio <= most)) {
      return ctx.error(
        ...diag(
          "DLM0210",
          "roi_align() sampling_ratio",
          `0 <= sampling_ratio <= ${most} (0 is adaptive, torchvision's -1` +
            (side !== undefined ? "; at most the feature map's larger side)" : ")"),
          ratio,
        ),
        ctx.argSpan("sampling_ratio"),
      );
    }
    let idx: string | undefined = args.batch_indices ? t(args.batch_indices).v : undefined;
    if (!idx) {
      // All rois in image 0: zeros of rois' length.
      idx = withGraph(ctx, (e) =>
        e.tensor(rois).op("Shape", [], { start: 0, end: 1 })
          .op("ConstantOfShape", [], { value: tensor("i64", [1], [0]) }))?.v;
      if (!idx) return ERROR;
    }
    const mode = (args.mode as { v: string }).v;
    const batchIdx = idx;
    return withGraph(ctx, (e) =>
      e.op1("RoiAlign", [x.v, rois.v, batchIdx], {
        output_height: out[0],
        output_width: out[1],
        spatial_scale: num(args.spatial_scale),
        sampling_ratio: num(args.sampling_ratio),
        mode,
        coordinate_transformation_mode: (args.aligned as { v: boolean }).v
          ? "half_pixel"
          : "output_half_pixel",
      })) ?? ERROR;
  },
};

const roiPool: FnDef = {
  name: "roi_pool",
  doc:
    "RoI max pooling (ONNX MaxRoiPool; torchvision.ops.roi_pool, Fast R-CNN): features x [N, C, H, W] pooled over rois [R, 4] (x1, y1, x2, y2 in image coordinates, scaled by spatial_scale > 0 and rounded to whole pixels) into [R, C, h, w], each bin the largest value in its cells (0 for an empty bin). batch_indices i64[R] says which image each roi is in (default all 0). Its gradient goes to each bin's first maximum, as torchvision's.",
  sig: [
    { name: "x", type: "tensor" },
    { name: "rois", type: "tensor" },
    { name: "output", type: "ints" },
    { name: "batch_indices", type: "tensor", optional: true },
    { name: "spatial_scale", type: "float", default: fl(1) },
  ],
  apply(ctx, args) {
    const x = t(args.x), rois = t(args.rois);
    const out = pooledSize(ctx, args, "roi_pool");
    if (!out) return ERROR;
    if (!needBoxes(ctx, rois, "rois", "roi_pool", "rois")) return ERROR;
    if (!positiveScale(ctx, args, "roi_pool")) return ERROR;
    const idx = args.batch_indices ? t(args.batch_indices) : undefined;
    return withGraph(ctx, (e) => {
      const r = e.tensor(rois);
      // ONNX's rois are rows (batch, x1, y1, x2, y2).
      // Without batch_indices a column of zeros, [R, 1]: its shape is computed at run time, so
      // it is declared (R of the rois), else the Concat below saw [?, ?] and MaxRoiPool's rule
      // refused the rois (DLM0227 on a well-formed call).
      const batch = idx ? e.tensor(idx).cast(x.t.dtype).unsqueeze([1]) : e.refine(
        r.op("Shape", [], { start: 0, end: 1 }).op("Concat", [e.ints([1])], { axis: 0 })
          .op("ConstantOfShape", [], { value: tensor(x.t.dtype, [1], [0]) }),
        { dtype: x.t.dtype, shape: [rois.t.shape[0], 1] },
      );
      return e.op1("MaxRoiPool", [x.v, e.op1("Concat", [batch, r], { axis: 1 })], {
        pooled_shape: out,
        spatial_scale: num(args.spatial_scale),
      });
    }) ?? ERROR;
  },
};

/** A pool's `output:` as (h, w), both positive; else DLM0210 at the call and undefined. */
function pooledSize(
  ctx: Ctx,
  args: Record<string, Value>,
  what: string,
): [number, number] | undefined {
  const out = positivePair(args.output);
  if (!out) {
    ctx.error(
      ...diag("DLM0210", `${what}()`, "output: a positive size or (h, w)", describe(args.output)),
    );
  }
  return out;
}

/**
 * spatial_scale > 0 and finite: it maps image coordinates to the feature map's; onnxruntime's
 * MaxRoiPool refuses any other when the model loads (DLM0415 at the step, not at the call), and
 * torchvision's pools assume it.
 */
function positiveScale(ctx: Ctx, args: Record<string, Value>, what: string): boolean {
  const s = num(args.spatial_scale);
  if (s > 0 && Number.isFinite(s)) return true;
  ctx.error(
    ...diag("DLM0210", `${what}() spatial_scale`, "a finite spatial_scale > 0", s),
    ctx.argSpan("spatial_scale"),
  );
  return false;
}

/** Numbers from an int, a float, or a tuple/list of them. */
function numbers(v: Value | undefined): number[] | undefined {
  if (!v) return undefined;
  if (v.k === "int" || v.k === "float") return [v.v];
  if (v.k === "tuple" || v.k === "list") {
    const out: number[] = [];
    for (const x of v.items) {
      if (x.k !== "int" && x.k !== "float") return undefined;
      out.push(x.v);
    }
    return out;
  }
  return undefined;
}

const anchors: FnDef = {
  name: "anchors",
  doc:
    "The anchor boxes of a feature map, a constant f32 [h * w * A, 4] (x1, y1, x2, y2) as torchvision's AnchorGenerator makes them: for every cell (row-major) centred at (x * stride, y * stride), one box per aspect ratio (height / width) and size (ratio-major), rounded. grid: (h, w); stride: int or (sy, sx).",
  sig: [
    { name: "sizes", type: "any" },
    { name: "ratios", type: "any" },
    { name: "grid", type: "ints" },
    { name: "stride", type: "ints" },
  ],
  apply(ctx, args) {
    const sizes = numbers(args.sizes), ratios = numbers(args.ratios);
    const grid = positivePair(args.grid), stride = positivePair(args.stride);
    if (
      !sizes?.length || !ratios?.length || sizes.some((s) => s <= 0) || ratios.some((r) => r <= 0)
    ) {
      return ctx.error(
        ...diag(
          "DLM0210",
          "anchors()",
          "positive sizes and ratios (numbers or tuples)",
          `${describe(args.sizes)} and ${describe(args.ratios)}`,
        ),
      );
    }
    if (!grid || !stride) {
      return ctx.error(
        ...diag(
          "DLM0210",
          "anchors()",
          "a positive grid (h, w) and stride",
          `${describe(args.grid)} and ${describe(args.stride)}`,
        ),
      );
    }
    // Base anchors centred on 0, as torchvision: ws = w_ratio * size, hs = h_ratio * size.
    const base: number[][] = [];
    for (const r of ratios) {
      const h = Math.sqrt(r), w = 1 / h;
      for (const s of sizes) {
        const ws = w * s, hs = h * s;
        // torch.round rounds half to even.
        base.push([-ws / 2, -hs / 2, ws / 2, hs / 2].map(roundHalfEven));
      }
    }
    const [gh, gw] = grid, [sy, sx] = stride;
    const t = table("f32", [gh * gw * base.length, 4], "anchors()");
    const data = t.data as Float32Array;
    let k = 0;
    for (let y = 0; y < gh; y++) {
      for (let x = 0; x < gw; x++) {
        for (const b of base) {
          data.set([b[0] + x * sx, b[1] + y * sy, b[2] + x * sx, b[3] + y * sy], k);
          k += 4;
        }
      }
    }
    return ctx.constant(t, "anchors");
  },
};

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Per-box width, height and centre of boxes [..., 4], each [..., 1]. */
function geometry(e: CtxGraph, b: TensorValue) {
  const [x1, y1, x2, y2] = corners(e, b);
  const w = x2.sub(x1), h = y2.sub(y1);
  const cx = x1.add(w.mul(0.5)), cy = y1.add(h.mul(0.5));
  return { w, h, cx, cy };
}

function weightsOf(ctx: Ctx, v: Value, fn: string): number[] | undefined {
  const w = numbers(v);
  if (w?.length === 4 && w.every((x) => x > 0)) return w;
  ctx.error(
    ...diag("DLM0210", `${fn}()`, "weights: four positive numbers (wx, wy, ww, wh)", describe(v)),
    ctx.argSpan("weights"),
  );
  return undefined;
}

const decodeBoxes: FnDef = {
  name: "decode_boxes",
  doc:
    "Boxes from regression deltas (dx, dy, dw, dh) relative to anchors (torchvision's BoxCoder.decode_single, Faster R-CNN): centre + (dx / wx) * size, size * exp(min(dw / ww, clamp)). anchors [A, 4], deltas [..., A, 4] -> [..., A, 4].",
  sig: [
    { name: "anchors", type: "tensor" },
    { name: "deltas", type: "tensor" },
    { name: "weights", type: "any", default: FOUR },
    { name: "clamp", type: "float", default: fl(Math.log(1000 / 16)) },
  ],
  apply(ctx, args) {
    const a = t(args.anchors), d = t(args.deltas);
    if (!needBoxes(ctx, a, "anchors", "decode_boxes", "anchors")) return ERROR;
    if (!needBoxes(ctx, d, "deltas", "decode_boxes", "deltas")) return ERROR;
    const wts = weightsOf(ctx, args.weights, "decode_boxes");
    return boxFormula(ctx, (e) => {
      const g = geometry(e, a);
      const c = corners(e, d);
      if (!wts) throw new Reported();
      const clamp = num(args.clamp);
      // centre + (d / w) size, half size exp(min(d / w, clamp)) on each side
      const dx = c[0].mul(1 / wts[0]), dy = c[1].mul(1 / wts[1]);
      const dw = c[2].mul(1 / wts[2]).min(clamp);
      const dh = c[3].mul(1 / wts[3]).min(clamp);
      const cx = dx.mul(g.w).add(g.cx), cy = dy.mul(g.h).add(g.cy);
      const hw = dw.exp().mul(g.w).mul(0.5), hh = dh.exp().mul(g.h).mul(0.5);
      return e.op1("Concat", [cx.sub(hw), cy.sub(hh), cx.add(hw), cy.add(hh)], { axis: -1 });
    });
  },
};

const encodeBoxes: FnDef = {
  name: "encode_boxes",
  doc:
    "Regression targets (dx, dy, dw, dh) of boxes relative to anchors, the inverse of decode_boxes (torchvision's BoxCoder.encode_single): anchors [..., 4], boxes [..., 4] -> [..., 4].",
  sig: [
    { name: "anchors", type: "tensor" },
    { name: "boxes", type: "tensor" },
    { name: "weights", type: "any", default: FOUR },
  ],
  apply(ctx, args) {
    const a = t(args.anchors), b = t(args.boxes);
    if (!needBoxes(ctx, a, "anchors", "encode_boxes", "anchors")) return ERROR;
    if (!needBoxes(ctx, b, "boxes", "encode_boxes", "boxes")) return ERROR;
    const wts = weightsOf(ctx, args.weights, "encode_boxes");
    return boxFormula(ctx, (e) => {
      const ga = geometry(e, a), gb = geometry(e, b);
      if (!wts) throw new Reported();
      // (centre offset / anchor size, log of the size ratio), each times its weight
      const dx = gb.cx.sub(ga.cx).div(ga.w).mul(wts[0]);
      const dy = gb.cy.sub(ga.cy).div(ga.h).mul(wts[1]);
      const dw = gb.w.div(ga.w).log().mul(wts[2]);
      const dh = gb.h.div(ga.h).log().mul(wts[3]);
      return e.op1("Concat", [dx, dy, dw, dh], { axis: -1 });
    });
  },
};

const fns: FnDef[] = [
  boxIou,
  generalizedBoxIou,
  nms,
  roiAlign,
  roiPool,
  anchors,
  decodeBoxes,
  encodeBoxes,
];
export const FUNCTIONS: Record<string, FnDef> = Object.fromEntries(fns.map((d) => [d.name, d]));
