/**
 * Detection post-processing ops: NonMaxSuppression (opset 11), whose
 * output length depends on the data, and RoiAlign (opset 16).
 */
import { formatType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { expectDtype, FLOAT_NO_BF16, freshDim, input, intAttr, strAttr } from "./rules.ts";
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
  noGradYet: "no rule yet",
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
