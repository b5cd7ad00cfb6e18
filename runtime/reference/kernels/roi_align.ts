/**
 * RoiAlign: for each region [x1, y1, x2, y2] (times spatial_scale, shifted
 * by -0.5 under half_pixel) of image batch_indices[r], an
 * output_height x output_width grid of bins; each bin averages (mode avg)
 * or takes the largest weighted tap (mode max, as onnxruntime) of
 * sampling_ratio^2 (or ceil(bin size)) bilinear samples.
 */
import type { Kernel } from "../kernel.ts";
import {
  attrFloat,
  attrInt,
  attrString,
  finish,
  input,
  intsOf,
  numbers,
  scratch,
} from "../util.ts";

export const roiAlign: Kernel = (inputs, attrs, ctx) => {
  const x = input(inputs, 0), rois = numbers(input(inputs, 1, "rois"));
  const batchIdx = intsOf(input(inputs, 2, "batch_indices"));
  const [, C, H, W] = x.shape;
  const PH = attrInt(attrs, "output_height", 1), PW = attrInt(attrs, "output_width", 1);
  const ratio = attrInt(attrs, "sampling_ratio", 0);
  const scale = attrFloat(attrs, "spatial_scale", 1);
  const max = attrString(attrs, "mode", "avg") === "max";
  const mode = attrString(
    attrs,
    "coordinate_transformation_mode",
    ctx.opset >= 16 ? "half_pixel" : "output_half_pixel",
  );
  const offset = mode === "half_pixel" ? 0.5 : 0;
  const xv = numbers(x);
  const R = batchIdx.length;
  const out = scratch(x.dtype, R * C * PH * PW);
  for (let r = 0; r < R; r++) {
    const [x1, y1, x2, y2] = [0, 1, 2, 3].map((k) => rois[r * 4 + k] * scale - offset);
    let rw = x2 - x1, rh = y2 - y1;
    if (mode !== "half_pixel") {
      rw = Math.max(rw, 1);
      rh = Math.max(rh, 1);
    }
    const bh = rh / PH, bw = rw / PW;
    const gh = ratio > 0 ? ratio : Math.ceil(rh / PH), gw = ratio > 0 ? ratio : Math.ceil(rw / PW);
    const count = Math.max(gh * gw, 1);
    for (let c = 0; c < C; c++) {
      const plane = (batchIdx[r] * C + c) * H * W;
      for (let ph = 0; ph < PH; ph++) {
        for (let pw = 0; pw < PW; pw++) {
          let acc = 0, seen = false;
          for (let iy = 0; iy < gh; iy++) {
            const y = y1 + ph * bh + ((iy + 0.5) * bh) / gh;
            for (let ix = 0; ix < gw; ix++) {
              const xx = x1 + pw * bw + ((ix + 0.5) * bw) / gw;
              const taps = bilinear(y, xx, H, W);
              if (max) {
                let m = 0;
                taps.forEach(([i, w], k) => {
                  const v = w * xv[plane + i];
                  if (k === 0 || v > m) m = v;
                });
                acc = seen ? Math.max(acc, m) : m;
                seen = true;
              } else for (const [i, w] of taps) acc += w * xv[plane + i];
            }
          }
          out[((r * C + c) * PH + ph) * PW + pw] = max ? acc : acc / count;
        }
      }
    }
  }
  return [finish(x.dtype, [R, C, PH, PW], out)];
};

/** The four (offset, weight) taps of a bilinear sample at (y, x); zero weights outside. */
function bilinear(y: number, x: number, H: number, W: number): [number, number][] {
  if (y < -1 || y > H || x < -1 || x > W) return [[0, 0], [0, 0], [0, 0], [0, 0]];
  y = Math.max(y, 0);
  x = Math.max(x, 0);
  let yl = Math.floor(y), xl = Math.floor(x), yh: number, xh: number;
  if (yl >= H - 1) yh = yl = H - 1, y = yl;
  else yh = yl + 1;
  if (xl >= W - 1) xh = xl = W - 1, x = xl;
  else xh = xl + 1;
  const ly = y - yl, lx = x - xl, hy = 1 - ly, hx = 1 - lx;
  return [[yl * W + xl, hy * hx], [yl * W + xh, hy * lx], [yh * W + xl, ly * hx], [
    yh * W + xh,
    ly * lx,
  ]];
}
