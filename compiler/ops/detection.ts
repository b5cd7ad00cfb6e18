/**
 * Detection ops: NonMaxSuppression (opset 11), whose output length depends
 * on the data, RoiAlign (opset 16) and MaxRoiPool (opset 1, torchvision's
 * RoIPool), the last two with gradients with respect to their features.
 */
import { formatType } from "../ir/graph.ts";
import type { Expr } from "../ir/expr.ts";
import { tensor } from "../ir/tensor.ts";
import { type GradContext, type OpDef, ShapeError } from "./op_def.ts";
import { expectDtype, FLOAT_NO_BF16, freshDim, input, intAttr, strAttr } from "./rules.ts";
import { GradLimit, gradOf, inputOf, needStatic, reshapeLike, zerosLike } from "./grad_util.ts";
import { diag } from "../diagnostics.ts";

export const nonMaxSuppressionOp: OpDef = {
  op: "NonMaxSuppression",
  differentiable: false,
  since: 11,
  inputs: [
    { name: "boxes" },
    { name: "scores" },
    { name: "max_output_boxes_per_class", optional: true },
    { name: "iou_threshold", optional: true },
    { name: "score_threshold", optional: true },
  ],
  outputs: [{ name: "selected_indices" }],
  attrs: { center_point_box: { type: "int", default: 0 } },
  infer(ctx) {
    const boxes = input(ctx, "NonMaxSuppression", 0, "boxes");
    const scores = input(ctx, "NonMaxSuppression", 1, "scores");
    expectDtype("NonMaxSuppression", "boxes", boxes, ["f32"]);
    expectDtype("NonMaxSuppression", "scores", scores, ["f32"]);
    if (boxes.shape.length !== 3 || boxes.shape[2] !== 4) {
      throw new ShapeError(
        ...diag("DLM0227", "NonMaxSuppression", "boxes [batches, boxes, 4]", formatType(boxes)),
      );
    }
    if (scores.shape.length !== 3) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "NonMaxSuppression",
          "scores [batches, classes, boxes]",
          formatType(scores),
        ),
      );
    }
    const box = intAttr(ctx.attrs, "center_point_box", 0);
    if (box !== 0 && box !== 1) {
      throw new ShapeError(...diag("DLM0227", "NonMaxSuppression", "center_point_box 0 or 1", box));
    }
    return [{ dtype: "i64", shape: [freshDim("NonMaxSuppression"), 3] }];
  },
};

export const roiAlignOp: OpDef = {
  op: "RoiAlign",
  grad: roiAlignGrad,
  since: 16,
  inputs: [{ name: "X" }, { name: "rois" }, { name: "batch_indices" }],
  outputs: [{ name: "Y" }],
  attrs: {
    coordinate_transformation_mode: { type: "string", default: "half_pixel" },
    mode: { type: "string", default: "avg" },
    output_height: { type: "int", default: 1 },
    output_width: { type: "int", default: 1 },
    sampling_ratio: { type: "int", default: 0 },
    spatial_scale: { type: "float", default: 1 },
  },
  infer(ctx) {
    const x = input(ctx, "RoiAlign", 0, "X");
    const rois = input(ctx, "RoiAlign", 1, "rois");
    const idx = input(ctx, "RoiAlign", 2, "batch_indices");
    expectDtype("RoiAlign", "X", x, FLOAT_NO_BF16);
    if (rois.dtype !== x.dtype) {
      throw new ShapeError(
        ...diag("DLM0227", "RoiAlign", `rois of X's type ${x.dtype}`, formatType(rois)),
      );
    }
    expectDtype("RoiAlign", "batch_indices", idx, ["i64"]);
    if (x.shape.length !== 4) {
      throw new ShapeError(...diag("DLM0227", "RoiAlign", "X [N, C, H, W]", formatType(x)));
    }
    if (rois.shape.length !== 2 || rois.shape[1] !== 4) {
      throw new ShapeError(...diag("DLM0227", "RoiAlign", "rois [num_rois, 4]", formatType(rois)));
    }
    if (idx.shape.length !== 1) {
      throw new ShapeError(
        ...diag("DLM0227", "RoiAlign", "batch_indices [num_rois]", formatType(idx)),
      );
    }
    const mode = strAttr(ctx.attrs, "mode", "avg");
    if (mode !== "avg" && mode !== "max") {
      throw new ShapeError(...diag("DLM0227", "RoiAlign", 'mode "avg" or "max"', `"${mode}"`));
    }
    const ctm = strAttr(ctx.attrs, "coordinate_transformation_mode", "half_pixel");
    if (ctm !== "half_pixel" && ctm !== "output_half_pixel") {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "RoiAlign",
          'coordinate_transformation_mode "half_pixel" or "output_half_pixel"',
          `"${ctm}"`,
        ),
      );
    }
    const oh = intAttr(ctx.attrs, "output_height", 1), ow = intAttr(ctx.attrs, "output_width", 1);
    if (oh < 1 || ow < 1) {
      throw new ShapeError(
        ...diag("DLM0227", "RoiAlign", "output_height and output_width >= 1", `${oh}x${ow}`),
      );
    }
    return [{ dtype: x.dtype, shape: [rois.shape[0], x.shape[1], oh, ow] }];
  },
};

/**
 * The gradient of RoiAlign (avg mode, a fixed sampling_ratio g) with respect
 * to X; rois and batch_indices get none, as in torchvision.
 *
 * A bilinear sample at (y, x) weighs pixel (h, w) by
 * valid(y) valid(x) tent(yc - h) tent(xc - w), with tent(d) = max(0, 1 - |d|),
 * yc = clip(y, 0, H - 1) (the kernel's clamping: a sample past the last row
 * takes that row whole) and valid(y) = (-1 <= y <= H). The weight factors
 * into a row part and a column part, so summing a bin's g x g samples,
 *   Y[r, c, p, q] = sum_{h, w} Ay[r, p, h] X[b_r, c, h, w] Ax[r, q, w] / g^2,
 *   Ay[r, p, h] = sum_{i < g} valid(y_rpi) tent(clip(y_rpi, 0, H - 1) - h),
 *   y_rpi = y1_r + bh_r (p + (i + 1/2) / g)
 * (Ax likewise over columns). Y is linear in X, and its adjoint is
 *   dX[b_r] += Ay[r]^T dY[r] Ax[r] / g^2,
 * two MatMuls per roi and a scatter-add over the rois' images.
 */
function roiAlignGrad(c: GradContext): (string | undefined)[] {
  const a = c.node.attrs;
  const g = Number(a.sampling_ratio ?? 0);
  if (g <= 0) {
    throw new GradLimit(
      "The gradient of RoiAlign needs a fixed sampling_ratio > 0 (adaptive sampling takes a number of samples that varies with each roi); torchvision's Faster R-CNN uses 2",
    );
  }
  if ((a.mode ?? "avg") !== "avg") {
    throw new GradLimit('The gradient of RoiAlign is defined for mode "avg" only');
  }
  const e = c.e;
  const xt = c.inputTypes[0]!;
  const dtype = xt.dtype;
  const [, C, Hd, Wd] = xt.shape;
  const H = needStatic(Hd, "RoiAlign", "feature height");
  const W = needStatic(Wd, "RoiAlign", "feature width");
  const PH = Number(a.output_height ?? 1), PW = Number(a.output_width ?? 1);
  const scale = Number(a.spatial_scale ?? 1);
  const halfPixel = (a.coordinate_transformation_mode ?? "half_pixel") === "half_pixel";
  const num = (v: number) => e.scalar(v, dtype);
  const [x1, y1, x2, y2] = e.op("Split", [inputOf(c, 1), e.ints([1, 1, 1, 1])], { axis: 1 }, {
    nOutputs: 4,
  }).map((v) => v.mul(num(scale)).sub(num(halfPixel ? 0.5 : 0)));
  /** The [R, P, size] interpolation matrix of one axis: start [R, 1], extent [R, 1]. */
  const along = (start: Expr, extent: Expr, P: number, size: number): Expr => {
    if (!halfPixel) extent = extent.max(num(1));
    // p + (i + 1/2) / g for each bin p and sample i, bin-major: [1, P g]
    const at: number[] = [];
    for (let p = 0; p < P; p++) for (let i = 0; i < g; i++) at.push(p + (i + 0.5) / g);
    const pos = start.add(extent.div(num(P)).mul(e.constant(tensor(dtype, [1, P * g], at))));
    const valid = pos.greaterOrEqual(num(-1)).and(pos.lessOrEqual(num(size))).cast(dtype);
    const clamped = pos.max(num(0)).min(num(size - 1)).unsqueeze([2]);
    const rows = e.constant(tensor(dtype, [1, 1, size], [...Array(size).keys()]));
    const tent = num(1).sub(clamped.sub(rows).abs()).relu().mul(valid.unsqueeze([2]));
    // [R, P g, size] -> [R, P, g, size], summed over the samples
    return tent.reshape([-1, P, g, size]).sum([2], false);
  };
  const ay = along(y1, y2.sub(y1), PH, H); // [R, PH, H]
  const ax = along(x1, x2.sub(x1), PW, W); // [R, PW, W]
  // Ay^T dY Ax / g^2: [R, 1, H, PH] @ [R, C, PH, PW] @ [R, 1, PW, W] -> [R, C, H, W]
  const perRoi = ay.transpose([0, 2, 1]).unsqueeze([1]).matmul(gradOf(c, 0))
    .matmul(ax.unsqueeze([1])).mul(num(1 / (g * g)));
  // Each roi's gradient added into its image: rows of dX [N, C H W] at batch_indices.
  const chw = needStatic(C, "RoiAlign", "channel count") * H * W;
  const flat = perRoi.reshape([-1, chw]);
  const rowsAt = inputOf(c, 2).unsqueeze([1]).expand(flat.shape());
  const dx = zerosLike(c, c.node.inputs[0]).reshape([-1, chw])
    .op("ScatterElements", [rowsAt, flat], { axis: 0, reduction: "add" });
  return [reshapeLike(c, dx, c.node.inputs[0]).name, undefined, undefined];
}

export const maxRoiPoolOp: OpDef = {
  op: "MaxRoiPool",
  grad: maxRoiPoolGrad,
  since: 1,
  inputs: [{ name: "X" }, { name: "rois" }],
  outputs: [{ name: "Y" }],
  attrs: {
    pooled_shape: { type: "ints", required: true },
    spatial_scale: { type: "float", default: 1 },
  },
  infer(ctx) {
    const x = input(ctx, "MaxRoiPool", 0, "X");
    const rois = input(ctx, "MaxRoiPool", 1, "rois");
    expectDtype("MaxRoiPool", "X", x, FLOAT_NO_BF16);
    if (rois.dtype !== x.dtype) {
      throw new ShapeError(
        ...diag("DLM0227", "MaxRoiPool", `rois of X's type ${x.dtype}`, formatType(rois)),
      );
    }
    if (x.shape.length !== 4) {
      throw new ShapeError(...diag("DLM0227", "MaxRoiPool", "X [N, C, H, W]", formatType(x)));
    }
    if (rois.shape.length !== 2 || rois.shape[1] !== 5) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "MaxRoiPool",
          "rois [num_rois, 5] (batch, x1, y1, x2, y2)",
          formatType(rois),
        ),
      );
    }
    const pooled = ctx.attrs.pooled_shape as number[] | undefined;
    if (!pooled || pooled.length !== 2 || pooled.some((p) => p < 1)) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "MaxRoiPool",
          "pooled_shape: two sizes >= 1",
          pooled ? `[${pooled.join(", ")}]` : "none",
        ),
      );
    }
    return [{ dtype: x.dtype, shape: [rois.shape[0], x.shape[1], pooled[0], pooled[1]] }];
  },
};

/**
 * The gradient of MaxRoiPool with respect to X: each bin's gradient goes to
 * the element it took (torchvision's argmax: the first maximum in row-major
 * order), none from an empty bin; rois get none.
 *
 * The bins are recomputed from the rois as the kernel does (C's round:
 * sign(v) floor(|v| + 1/2)). A bin is the rectangle rows [hs_p, he_p) x
 * columns [ws_q, we_q), so its first row-major maximum is found in two
 * passes: per row h, the first column maximum over each column range
 * (aw[r, c, h, q] and its value Z); then per bin the first row h whose Z is
 * largest (ah[r, c, p, q]). The first row holding the maximum, and in it the
 * first column, is the first maximum in row-major order. The gradient is
 * scattered (added) at ((b_r C + c) H + ah) W + aw[ah].
 */
function maxRoiPoolGrad(c: GradContext): (string | undefined)[] {
  const e = c.e;
  const xt = c.inputTypes[0]!;
  const dtype = xt.dtype;
  const [, Cd, Hd, Wd] = xt.shape;
  const C = needStatic(Cd, "MaxRoiPool", "channel count");
  const H = needStatic(Hd, "MaxRoiPool", "feature height");
  const W = needStatic(Wd, "MaxRoiPool", "feature width");
  const [PH, PW] = c.node.attrs.pooled_shape as number[];
  const scale = Number(c.node.attrs.spatial_scale ?? 1);
  const num = (v: number) => e.scalar(v, dtype);
  const [bcol, x1, y1, x2, y2] = e.op("Split", [inputOf(c, 1), e.ints([1, 1, 1, 1, 1])], {
    axis: 1,
  }, { nOutputs: 5 });
  const round = (v: Expr) => {
    const s = v.mul(num(scale));
    return s.sign().mul(s.abs().add(num(0.5)).op("Floor"));
  };
  /** Bin bounds [R, P] of one axis from the rounded start and end [R, 1]. */
  const bins = (start: Expr, end: Expr, P: number, size: number) => {
    const bin = end.sub(start).add(num(1)).max(num(1)).div(num(P));
    const ps = e.constant(tensor(dtype, [1, P], [...Array(P).keys()]));
    const lo = ps.mul(bin).op("Floor").add(start).max(num(0)).min(num(size));
    const hi = ps.add(num(1)).mul(bin).op("Ceil").add(start).max(num(0)).min(num(size));
    // inside[r, p, i]: lo <= i < hi
    const idx = e.constant(tensor(dtype, [1, 1, size], [...Array(size).keys()]));
    const inside = idx.greaterOrEqual(lo.unsqueeze([2])).and(idx.less(hi.unsqueeze([2])));
    return { inside, nonEmpty: hi.greater(lo) };
  };
  const sx = round(x1), sy = round(y1);
  const cols = bins(sx, round(x2), PW, W), rows = bins(sy, round(y2), PH, H);
  const b = bcol.squeeze([1]).cast("i64"); // [R]
  const xr = e.op1("Gather", [inputOf(c, 0), b], { axis: 0 }); // [R, C, H, W]
  const negInf = num(-Infinity);
  // Per row, over each column range: [R, C, H, PW, W] -> first maximum aw and its value z.
  const inCols = e.where(cols.inside.unsqueeze([1, 2]), xr.unsqueeze([3]), negInf);
  const aw = inCols.op("ArgMax", [], { axis: 4, keepdims: 0 }); // [R, C, H, PW]
  const z = inCols.reduceMax([4], false);
  // Per bin, over its rows: [R, C, PH, H, PW] -> the first row ah holding the maximum.
  const inRows = e.where(rows.inside.unsqueeze([1, 4]), z.unsqueeze([2]), negInf);
  const ah = inRows.op("ArgMax", [], { axis: 3, keepdims: 0 }); // [R, C, PH, PW]
  const awAt = e.op1("GatherElements", [aw, ah], { axis: 2 }); // [R, C, PH, PW]
  const chans = e.constant(tensor("i64", [1, C, 1, 1], [...Array(C).keys()]));
  const at = b.reshape([-1, 1, 1, 1]).mul(e.scalar(C, "i64")).add(chans)
    .mul(e.scalar(H * W, "i64")).add(ah.mul(e.scalar(W, "i64"))).add(awAt);
  const nonEmpty = rows.nonEmpty.unsqueeze([2]).and(cols.nonEmpty.unsqueeze([1])).unsqueeze([1]);
  const g = e.where(nonEmpty, gradOf(c, 0), 0);
  const flat = e.ints([-1]);
  const dx = zerosLike(c, c.node.inputs[0]).reshape(flat)
    .op("ScatterElements", [at.reshape(flat), g.reshape(flat)], { axis: 0, reduction: "add" });
  return [reshapeLike(c, dx, c.node.inputs[0]).name, undefined];
}
