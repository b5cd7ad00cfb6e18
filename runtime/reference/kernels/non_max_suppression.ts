/**
 * NonMaxSuppression: per batch and class, take boxes with score >
 * score_threshold in decreasing score order, keeping one unless its IoU with
 * a kept box exceeds iou_threshold, up to max_output_boxes_per_class.
 * Boxes are [y1, x1, y2, x2] (either corner order) or, with
 * center_point_box=1, [x_center, y_center, width, height]. Output: i64
 * [selected, 3] rows (batch, class, box).
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, i64Tensor, input, numbers, scalarOf } from "../util.ts";

export const nonMaxSuppression: Kernel = (inputs, attrs) => {
  const boxes = input(inputs, 0, "boxes"), scores = input(inputs, 1, "scores");
  const maxOut = inputs[2] && inputs[2].data.length ? scalarOf(inputs[2]) : 0;
  const iouTh = inputs[3] && inputs[3].data.length ? scalarOf(inputs[3]) : 0;
  const scoreTh = inputs[4] && inputs[4].data.length ? scalarOf(inputs[4]) : -Infinity;
  const center = attrInt(attrs, "center_point_box", 0) !== 0;
  const [B, S] = boxes.shape, C = scores.shape[1];
  const bv = numbers(boxes), sv = numbers(scores);
  // Corners (y1, x1, y2, x2) with y1 <= y2, x1 <= x2.
  const corners = (b: number, i: number): [number, number, number, number] => {
    const o = (b * S + i) * 4;
    if (center) {
      const [xc, yc, w, h] = [bv[o], bv[o + 1], bv[o + 2], bv[o + 3]];
      return [yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2];
    }
    return [
      Math.min(bv[o], bv[o + 2]),
      Math.min(bv[o + 1], bv[o + 3]),
      Math.max(bv[o], bv[o + 2]),
      Math.max(bv[o + 1], bv[o + 3]),
    ];
  };
  const iou = (p: number[], q: number[]) => {
    const ih = Math.max(0, Math.min(p[2], q[2]) - Math.max(p[0], q[0]));
    const iw = Math.max(0, Math.min(p[3], q[3]) - Math.max(p[1], q[1]));
    const inter = ih * iw;
    const union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter;
    return union > 0 ? inter / union : 0;
  };
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      const cand: number[] = [];
      for (let i = 0; i < S; i++) if (sv[(b * C + c) * S + i] > scoreTh) cand.push(i);
      cand.sort((i, j) => sv[(b * C + c) * S + j] - sv[(b * C + c) * S + i] || i - j);
      const kept: number[][] = [];
      for (const i of cand) {
        if (kept.length >= maxOut) break;
        const box = corners(b, i);
        if (kept.every((k) => iou(k, box) <= iouTh)) {
          kept.push(box);
          out.push(b, c, i);
        }
      }
    }
  }
  return [i64Tensor([out.length / 3, 3], out)];
};
