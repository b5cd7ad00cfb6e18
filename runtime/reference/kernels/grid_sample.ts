/**
 * GridSample (PyTorch's grid_sample): output[n, c, h, w] samples X[n, c] at
 * the normalized location grid[n, h, w] = (x, y) in [-1, 1], unnormalized as
 *   align_corners=1: (g + 1) / 2 * (size - 1)   align_corners=0: ((g + 1) * size - 1) / 2
 * and interpolated (bilinear, nearest with ties to even, bicubic A = -0.75).
 * padding_mode zeros reads 0 outside, border clamps, reflection mirrors.
 */
import type { Kernel } from "../kernel.ts";
import {
  attrInt,
  attrString,
  finish,
  input,
  kernelFail,
  kernelFailIf,
  numbers,
  scratch,
} from "../util.ts";
import { roundHalfEven } from "./round.ts";

export const gridSample: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0), grid = input(inputs, 1, "grid");
  kernelFailIf(x.shape.length !== 4, `GridSample expects a 4-D input, found [${x.shape}]`);
  const [N, C, H, W] = x.shape, [, HO, WO] = grid.shape;
  const align = attrInt(attrs, "align_corners", 0) !== 0;
  const mode = attrString(attrs, "mode", "bilinear");
  const pad = attrString(attrs, "padding_mode", "zeros");
  const xv = numbers(x), gv = numbers(grid);
  const unnormalize = (g: number, size: number) =>
    align ? ((g + 1) / 2) * (size - 1) : ((g + 1) * size - 1) / 2;
  const reflect = (v: number, lo2: number, hi2: number) => {
    if (lo2 === hi2) return 0;
    const min = lo2 / 2, span = (hi2 - lo2) / 2;
    const a = Math.abs(v - min);
    const extra = a % span, flips = Math.floor(a / span);
    return flips % 2 === 0 ? extra + min : span - extra + min;
  };
  // The padding rule applied to a (possibly fractional) coordinate.
  const padCoord = (v: number, size: number) => {
    if (pad === "border") return Math.min(Math.max(v, 0), size - 1);
    if (pad === "reflection") {
      const r = align ? reflect(v, 0, 2 * (size - 1)) : reflect(v, -1, 2 * size - 1);
      return Math.min(Math.max(r, 0), size - 1);
    }
    if (pad !== "zeros") kernelFail(`Unknown padding_mode "${pad}"`);
    return v;
  };
  const out = scratch(x.dtype, N * C * HO * WO);
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < HO; h++) {
      for (let w = 0; w < WO; w++) {
        const g = ((n * HO + h) * WO + w) * 2;
        const ix = unnormalize(gv[g], W), iy = unnormalize(gv[g + 1], H);
        for (let c = 0; c < C; c++) {
          const plane = (n * C + c) * H * W;
          const at = (yy: number, xx: number) =>
            yy >= 0 && yy < H && xx >= 0 && xx < W ? xv[plane + yy * W + xx] : 0;
          let v: number;
          if (mode === "bicubic") {
            // Taps are padded one by one (the coordinate itself is not).
            const x0 = Math.floor(ix), y0 = Math.floor(iy);
            const wx = cubicWeights(ix - x0), wy = cubicWeights(iy - y0);
            v = 0;
            for (let a = 0; a < 4; a++) {
              for (let b = 0; b < 4; b++) {
                const yy = pad === "zeros" ? y0 - 1 + a : padCoord(y0 - 1 + a, H);
                const xx = pad === "zeros" ? x0 - 1 + b : padCoord(x0 - 1 + b, W);
                v += wy[a] * wx[b] * at(yy, xx);
              }
            }
          } else {
            const px = padCoord(ix, W), py = padCoord(iy, H);
            if (mode === "nearest") v = at(roundHalfEven(py), roundHalfEven(px));
            else if (mode === "bilinear") {
              const x0 = Math.floor(px), y0 = Math.floor(py);
              const lx = px - x0, ly = py - y0;
              v = (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x0 + 1)) +
                ly * ((1 - lx) * at(y0 + 1, x0) + lx * at(y0 + 1, x0 + 1));
            } else kernelFail(`Unknown mode "${mode}"`);
          }
          out[((n * C + c) * HO + h) * WO + w] = v!;
        }
      }
    }
  }
  return [finish(x.dtype, [N, C, HO, WO], out)];
};

/** Keys' cubic convolution weights (A = -0.75) of the taps at -1, 0, 1, 2 for offset t. */
function cubicWeights(t: number): number[] {
  const A = -0.75;
  const near = (s: number) => ((A + 2) * s - (A + 3)) * s * s + 1;
  const far = (s: number) => ((A * s - 5 * A) * s + 8 * A) * s - 4 * A;
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}
