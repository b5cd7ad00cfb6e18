/**
 * Detection built-ins, following torchvision's conventions (boxes as
 * [x1, y1, x2, y2]): `box_iou`, `nms` (ONNX NonMaxSuppression),
 * `roi_align` (ONNX RoiAlign), `anchors` (torchvision's AnchorGenerator
 * grid, a compile-time constant) and `decode_boxes` / `encode_boxes`
 * (torchvision's BoxCoder, the Faster R-CNN parameterisation).
 */
import { formatType } from "../../ir/graph.ts";
import { tensor } from "../../ir/tensor.ts";
import type { Ctx } from "../context.ts";
import { expandInts, num } from "../signature.ts";
import { ERROR, type TensorValue, type Value } from "../values.ts";
import type { FnDef } from "./functions.ts";
import { B, fl, i, ints, op1, t } from "./util.ts";

const FOUR: Value = { k: "tuple", items: [fl(1), fl(1), fl(1), fl(1)] };

/** The four coordinates of boxes [..., 4], each [..., 1]. */
function corners(ctx: Ctx, b: TensorValue): string[] | undefined {
  const r = ctx.op("Split", [b.v, ints(ctx, [1, 1, 1, 1])], { axis: -1 }, { nOutputs: 4 });
  return r?.map((x) => x.v);
}

/**
 * Arithmetic on value names for the box formulas. After the first op that
 * reports a shape error (boxes that do not broadcast) the rest are skipped;
 * `failed` tells the caller to return the poison value.
 */
function arith(ctx: Ctx) {
  const state = { failed: false };
  const made = new Map<string, TensorValue>();
  const node = (op: string, inputs: string[]): string => {
    if (state.failed) return "";
    const r = op1(ctx, op, inputs);
    if (!r) state.failed = true;
    else made.set(r.v, r);
    return r?.v ?? "";
  };
  const bin = (op: string) => (x: string, y: string) => node(op, [x, y]);
  return {
    add: bin("Add"),
    sub: bin("Sub"),
    mul: bin("Mul"),
    div: bin("Div"),
    min: bin("Min"),
    max: bin("Max"),
    relu: (x: string) => node("Relu", [x]),
    exp: (x: string) => node("Exp", [x]),
    log: (x: string) => node("Log", [x]),
    c: (v: number) => ctx.scalar(v, "f32").v,
    /** The result of a node made here (with its type), or the poison value after a failure. */
    result: (v: string): Value => (state.failed ? ERROR : made.get(v) ?? ERROR),
    get failed() {
      return state.failed;
    },
  };
}

function needBoxes(ctx: Ctx, b: TensorValue, what: string, fn: string, arg: string): boolean {
  const d = b.t.shape[b.t.shape.length - 1];
  if (b.t.shape.length >= 1 && d === 4 && b.t.dtype === "f32") return true;
  ctx.error(
    "DLM0203",
    `${fn}() needs ${what} as f32[..., 4] boxes (x1, y1, x2, y2), got ${formatType(b.t)}`,
    ctx.argSpan(arg),
  );
  return false;
}

const boxIou: FnDef = {
  name: "box_iou",
  doc:
    "Intersection over union of boxes a [..., M, 4] and b [..., K, 4] (x1, y1, x2, y2): [..., M, K] (torchvision.ops.box_iou).",
  sig: [{ name: "a", type: "tensor" }, { name: "b", type: "tensor" }],
  apply(ctx, args) {
    const a = t(args.a), b = t(args.b);
    if (!needBoxes(ctx, a, "a", "box_iou", "a") || !needBoxes(ctx, b, "b", "box_iou", "b")) {
      return ERROR;
    }
    if (a.t.shape.length < 2 || b.t.shape.length !== a.t.shape.length) {
      return ctx.error(
        "DLM0203",
        `box_iou() needs a [..., M, 4] and b [..., K, 4] of the same rank, got ${
          formatType(a.t)
        } and ${formatType(b.t)}`,
      );
    }
    const ca = corners(ctx, a), cb0 = corners(ctx, b);
    if (!ca || !cb0) return ERROR;
    // b's coordinates as rows [..., 1, K], to broadcast against a's columns [..., M, 1].
    const r = a.t.shape.length;
    const perm = [...Array(r).keys()];
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    const cb = cb0.map((c) => op1(ctx, "Transpose", [c], { perm })?.v);
    if (cb.some((c) => !c)) return ERROR;
    const [ax1, ay1, ax2, ay2] = ca, [bx1, by1, bx2, by2] = cb as string[];
    const f = arith(ctx);
    const iw = f.relu(f.sub(f.min(ax2, bx2), f.max(ax1, bx1)));
    const ih = f.relu(f.sub(f.min(ay2, by2), f.max(ay1, by1)));
    const inter = f.mul(iw, ih);
    const areaA = f.mul(f.sub(ax2, ax1), f.sub(ay2, ay1));
    const areaB = f.mul(f.sub(bx2, bx1), f.sub(by2, by1));
    const iou = f.div(inter, f.sub(f.add(areaA, areaB), inter));
    return f.result(iou);
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
        "DLM0203",
        `nms() needs boxes [N, 4] with scores f32[N], or boxes [B, N, 4] with scores f32[B, C, N]; got ${
          formatType(boxes.t)
        } and ${formatType(scores.t)}`,
      );
    }
    const iou = num(args.iou);
    if (iou < 0 || iou > 1) {
      return ctx.error("DLM0210", `nms() needs 0 <= iou <= 1, got ${iou}`, ctx.argSpan("iou"));
    }
    const maxBoxes = num(args.max_boxes);
    if (maxBoxes < 0) {
      return ctx.error("DLM0210", `nms() needs max_boxes >= 0, got ${maxBoxes}`);
    }
    // ONNX counts 0 as "select none"; here 0 means no limit.
    const limit = maxBoxes === 0 ? 2 ** 31 - 1 : maxBoxes;
    const b3 = simple ? op1(ctx, "Unsqueeze", [boxes.v, ints(ctx, [0])]) : boxes;
    const s3 = simple ? op1(ctx, "Unsqueeze", [scores.v, ints(ctx, [0, 1])]) : scores;
    if (!b3 || !s3) return ERROR;
    const inputs = [
      b3.v,
      s3.v,
      ctx.constant(tensor("i64", [1], [limit])).v,
      ctx.constant(tensor("f32", [1], [iou])).v,
    ];
    if (args.score_threshold) {
      inputs.push(ctx.constant(tensor("f32", [1], [num(args.score_threshold)])).v);
    }
    const sel = op1(ctx, "NonMaxSuppression", inputs);
    if (!sel || !simple) return sel ?? ERROR;
    // The box index column of the (batch, class, box) triples.
    return op1(ctx, "Gather", [sel.v, ctx.constant(tensor("i64", [], [2])).v], { axis: 1 }) ??
      ERROR;
  },
};

const roiAlign: FnDef = {
  name: "roi_align",
  doc:
    'RoI Align (ONNX RoiAlign; torchvision.ops.roi_align): features x [N, C, H, W] pooled over rois [R, 4] (x1, y1, x2, y2 in image coordinates, scaled by spatial_scale) into [R, C, h, w]. batch_indices i64[R] says which image each roi is in (default all 0); aligned: true shifts by half a pixel (torchvision\'s aligned=True); sampling_ratio 0 is adaptive; mode "avg" or "max".',
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
    const out = expandInts(args.output, 2);
    if (!out || out.some((d) => d < 1)) {
      return ctx.error("DLM0210", "roi_align() needs output: a positive size or (h, w)");
    }
    let idx: string | undefined = args.batch_indices ? t(args.batch_indices).v : undefined;
    if (!idx) {
      // All rois in image 0: zeros of rois' length.
      const n = op1(ctx, "Shape", [rois.v], { start: 0, end: 1 });
      const z = n && ctx.op("ConstantOfShape", [n.v], { value: tensor("i64", [1], [0]) });
      idx = z?.[0].v;
      if (!idx) return ERROR;
    }
    const mode = (args.mode as { v: string }).v;
    return op1(ctx, "RoiAlign", [x.v, rois.v, idx], {
      output_height: out[0],
      output_width: out[1],
      spatial_scale: num(args.spatial_scale),
      sampling_ratio: num(args.sampling_ratio),
      mode,
      coordinate_transformation_mode: (args.aligned as { v: boolean }).v
        ? "half_pixel"
        : "output_half_pixel",
    }) ?? ERROR;
  },
};

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
    const grid = expandInts(args.grid, 2), stride = expandInts(args.stride, 2);
    if (
      !sizes?.length || !ratios?.length || sizes.some((s) => s <= 0) || ratios.some((r) => r <= 0)
    ) {
      return ctx.error("DLM0210", "anchors() needs positive sizes and ratios (numbers or tuples)");
    }
    if (!grid || !stride || grid.some((d) => d < 1) || stride.some((d) => d < 1)) {
      return ctx.error("DLM0210", "anchors() needs a positive grid (h, w) and stride");
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
    const data: number[] = [];
    for (let y = 0; y < gh; y++) {
      for (let x = 0; x < gw; x++) {
        for (const b of base) data.push(b[0] + x * sx, b[1] + y * sy, b[2] + x * sx, b[3] + y * sy);
      }
    }
    return ctx.constant(tensor("f32", [gh * gw * base.length, 4], data), "anchors");
  },
};

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Per-box width, height and centre of boxes [..., 4], each [..., 1]. */
function geometry(ctx: Ctx, b: TensorValue) {
  const c = corners(ctx, b);
  if (!c) return undefined;
  const [x1, y1, x2, y2] = c;
  const f = arith(ctx);
  const w = f.sub(x2, x1), h = f.sub(y2, y1);
  const cx = f.add(x1, f.mul(w, f.c(0.5))), cy = f.add(y1, f.mul(h, f.c(0.5)));
  return f.failed ? undefined : { w, h, cx, cy };
}

function weightsOf(ctx: Ctx, v: Value): number[] | undefined {
  const w = numbers(v);
  if (w?.length === 4 && w.every((x) => x > 0)) return w;
  ctx.error(
    "DLM0210",
    "needs weights: four positive numbers (wx, wy, ww, wh)",
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
    const wts = weightsOf(ctx, args.weights);
    const g = geometry(ctx, a);
    const c = corners(ctx, d);
    if (!wts || !g || !c) return ERROR;
    const f = arith(ctx);
    const clamp = num(args.clamp);
    const dx = f.mul(c[0], f.c(1 / wts[0])), dy = f.mul(c[1], f.c(1 / wts[1]));
    const dw = f.min(f.mul(c[2], f.c(1 / wts[2])), f.c(clamp));
    const dh = f.min(f.mul(c[3], f.c(1 / wts[3])), f.c(clamp));
    const cx = f.add(f.mul(dx, g.w), g.cx), cy = f.add(f.mul(dy, g.h), g.cy);
    const hw = f.mul(f.mul(f.exp(dw), g.w), f.c(0.5)), hh = f.mul(f.mul(f.exp(dh), g.h), f.c(0.5));
    const parts = [f.sub(cx, hw), f.sub(cy, hh), f.add(cx, hw), f.add(cy, hh)];
    return f.failed ? ERROR : op1(ctx, "Concat", parts, { axis: -1 }) ?? ERROR;
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
    const wts = weightsOf(ctx, args.weights);
    const ga = geometry(ctx, a), gb = geometry(ctx, b);
    if (!wts || !ga || !gb) return ERROR;
    const f = arith(ctx);
    const dx = f.mul(f.div(f.sub(gb.cx, ga.cx), ga.w), f.c(wts[0]));
    const dy = f.mul(f.div(f.sub(gb.cy, ga.cy), ga.h), f.c(wts[1]));
    const dw = f.mul(f.log(f.div(gb.w, ga.w)), f.c(wts[2]));
    const dh = f.mul(f.log(f.div(gb.h, ga.h)), f.c(wts[3]));
    return f.failed ? ERROR : op1(ctx, "Concat", [dx, dy, dw, dh], { axis: -1 }) ?? ERROR;
  },
};

const fns: FnDef[] = [boxIou, nms, roiAlign, anchors, decodeBoxes, encodeBoxes];
export const FUNCTIONS: Record<string, FnDef> = Object.fromEntries(fns.map((d) => [d.name, d]));
