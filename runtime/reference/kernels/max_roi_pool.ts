/**
 * MaxRoiPool (torchvision's RoIPool, Caffe's ROIPooling): each region
 * (batch, x1, y1, x2, y2) is scaled and rounded to whole pixels (half away
 * from zero, C's round), its (h2 - h1 + 1) x (w2 - w1 + 1) extent split into
 * pooled_shape bins of [floor(p * size / P), ceil((p + 1) * size / P)) each,
 * clipped to the map; a bin takes its largest value, an empty bin 0. Sizes
 * are f32 arithmetic for f32 inputs, as the C++ kernels compute them.
 */
import type { Kernel } from "../kernel.ts";
import { attrFloat, attrInts, finish, input, numbers, scratch } from "../util.ts";

export const maxRoiPool: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0), rois = numbers(input(inputs, 1, "rois"));
  const [, C, H, W] = x.shape;
  const [PH, PW] = attrInts(attrs, "pooled_shape") ?? [1, 1];
  const scale = attrFloat(attrs, "spatial_scale", 1);
  const f = x.dtype === "f32" ? Math.fround : (v: number) => v;
  const round = (v: number) => Math.sign(v) * Math.round(Math.abs(v));
  const xv = numbers(x);
  const R = input(inputs, 1, "rois").shape[0];
  const out = scratch(x.dtype, R * C * PH * PW);
  for (let r = 0; r < R; r++) {
    const b = rois[r * 5];
    const [sw, sh, ew, eh] = [1, 2, 3, 4].map((k) => round(f(rois[r * 5 + k] * scale)));
    const binH = f(Math.max(eh - sh + 1, 1) / PH), binW = f(Math.max(ew - sw + 1, 1) / PW);
    const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
    for (let ph = 0; ph < PH; ph++) {
      const hs = clip(Math.floor(f(ph * binH)) + sh, H),
        he = clip(Math.ceil(f((ph + 1) * binH)) + sh, H);
      for (let pw = 0; pw < PW; pw++) {
        const ws = clip(Math.floor(f(pw * binW)) + sw, W);
        const we = clip(Math.ceil(f((pw + 1) * binW)) + sw, W);
        for (let c = 0; c < C; c++) {
          const plane = (b * C + c) * H * W;
          let m = he <= hs || we <= ws ? 0 : -Infinity;
          for (let h = hs; h < he; h++) {
            for (let w = ws; w < we; w++) m = Math.max(m, xv[plane + h * W + w]);
          }
          out[((r * C + c) * PH + ph) * PW + pw] = m;
        }
      }
    }
  }
  return [finish(x.dtype, [R, C, PH, PW], out)];
};
