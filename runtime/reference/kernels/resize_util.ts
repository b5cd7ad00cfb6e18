/**
 * Separable interpolation for Resize and Upsample, following the ONNX
 * reference (`interpolate_nd`): each axis, last first, maps output index x
 * to a source coordinate x_ori (coordinate_transformation_mode), takes the
 * neighbours around it (2 for nearest/linear, 4 for cubic, clamped to the
 * edge) and a weighted sum. With s = scale and W = s * input size:
 *   half_pixel: (x + 0.5) / s - 0.5      asymmetric: x / s
 *   align_corners: x * (in - 1) / (W - 1)  pytorch_half_pixel: like half_pixel, -0.5 when W = 1
 *   tf_half_pixel_for_nn: (x + 0.5) / s
 *   tf_crop_and_resize: roi-based; outside [0, in - 1] gives extrapolation_value.
 */
import { numel, type Tensor } from "../../../compiler/ir/tensor.ts";
import { finish, kernelFail, numbers, scratch } from "../util.ts";

export interface ResizeOptions {
  mode: string;
  coord: string;
  nearestMode: string;
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
  /** [start_0, ..., start_{r-1}, end_0, ..., end_{r-1}] for tf_crop_and_resize. */
  roi?: number[];
}

/** Resize `x` to `outShape`; `scales[d]` is the (float) scale of axis d. */
export function interpolate(
  x: Tensor,
  outShape: number[],
  scales: number[],
  o: ResizeOptions,
): Tensor {
  let cur = Float64Array.from(numbers(x));
  let shape = [...x.shape];
  const r = shape.length;
  for (let d = r - 1; d >= 0; d--) {
    const inDim = shape[d], outDim = outShape[d];
    const outer = numel(shape.slice(0, d)), inner = numel(shape.slice(d + 1));
    const next = new Float64Array(outer * outDim * inner);
    for (let xo = 0; xo < outDim; xo++) {
      const taps = weights(xo, inDim, scales[d], d, r, o);
      for (let a = 0; a < outer; a++) {
        for (let j = 0; j < inner; j++) {
          let s = 0;
          if (taps === null) s = o.extrapolation;
          else {
            for (const [i, w] of taps) if (w !== 0) s += w * cur[(a * inDim + i) * inner + j];
          }
          next[(a * outDim + xo) * inner + j] = s;
        }
      }
    }
    cur = next;
    shape = shape.map((v, i) => (i === d ? outDim : v));
  }
  const out = scratch(x.dtype, cur.length);
  const isInt =
    !(x.dtype === "f32" || x.dtype === "f64" || x.dtype === "f16" || x.dtype === "bf16");
  // Integer outputs round the interpolated value (the reference casts after rounding).
  for (let i = 0; i < cur.length; i++) out[i] = isInt ? Math.round(cur[i]) : cur[i];
  return finish(x.dtype, outShape, out);
}

/** The (source index, weight) taps of output index x along one axis; null = extrapolate. */
function weights(
  x: number,
  inDim: number,
  scale: number,
  d: number,
  r: number,
  o: ResizeOptions,
): [number, number][] | null {
  const W = scale * inDim;
  let xo: number;
  switch (o.coord) {
    case "half_pixel":
      xo = (x + 0.5) / scale - 0.5;
      break;
    case "pytorch_half_pixel":
      xo = W === 1 ? -0.5 : (x + 0.5) / scale - 0.5;
      break;
    case "align_corners":
      xo = W === 1 ? 0 : (x * (inDim - 1)) / (W - 1);
      break;
    case "asymmetric":
      xo = x / scale;
      break;
    case "tf_half_pixel_for_nn":
      xo = (x + 0.5) / scale;
      break;
    case "tf_crop_and_resize": {
      const roi = o.roi ?? kernelFail("tf_crop_and_resize needs roi");
      const start = roi[d], end = roi[d + r];
      xo = W === 1
        ? ((end - start) * (inDim - 1)) / 2
        : (x * (end - start) * (inDim - 1)) / (W - 1);
      xo += start * (inDim - 1);
      if (xo < 0 || xo > inDim - 1) return null;
      break;
    }
    default:
      return kernelFail(`Unknown coordinate_transformation_mode "${o.coord}"`);
  }
  const whole = Number.isInteger(xo);
  const ratio = whole ? 1 : xo - Math.floor(xo);
  // The neighbour left of xo (xo - 1 when xo is whole, so ratio is in (0, 1]).
  const left = whole ? xo - 1 : Math.floor(xo);
  let coeffs: number[], first: number;
  if (o.mode === "nearest") {
    first = left;
    if (whole) coeffs = [0, 1];
    else {
      switch (o.nearestMode) {
        case "round_prefer_floor":
          coeffs = ratio <= 0.5 ? [1, 0] : [0, 1];
          break;
        case "round_prefer_ceil":
          coeffs = ratio < 0.5 ? [1, 0] : [0, 1];
          break;
        case "floor":
          coeffs = [1, 0];
          break;
        case "ceil":
          coeffs = [0, 1];
          break;
        default:
          return kernelFail(`Unknown nearest_mode "${o.nearestMode}"`);
      }
    }
  } else if (o.mode === "linear") {
    first = left;
    coeffs = [1 - ratio, ratio];
  } else if (o.mode === "cubic") {
    first = left - 1;
    const A = o.cubicA, t = ratio, u = 1 - ratio;
    coeffs = [
      ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A,
      ((A + 2) * t - (A + 3)) * t * t + 1,
      ((A + 2) * u - (A + 3)) * u * u + 1,
      ((A * (u + 1) - 5 * A) * (u + 1) + 8 * A) * (u + 1) - 4 * A,
    ];
  } else return kernelFail(`Unknown resize mode "${o.mode}"`);
  const taps: [number, number][] = coeffs.map((w, k) => [first + k, w]);
  if (o.excludeOutside) {
    for (const t of taps) if (t[0] < 0 || t[0] >= inDim) t[1] = 0;
    const s = taps.reduce((acc, t) => acc + t[1], 0);
    for (const t of taps) t[1] /= s;
  }
  for (const t of taps) t[0] = Math.min(Math.max(t[0], 0), inDim - 1);
  return taps;
}
