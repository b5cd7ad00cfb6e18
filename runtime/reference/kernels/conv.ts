/**
 * Conv: N-d convolution (cross-correlation) with groups, strides, dilations
 * and pads:
 *   Y[n, g*Mg + m, o] = B[g*Mg + m] + sum_{c < Cg, k} W[g*Mg + m, c, k] * X[n, g*Cg + c, o*s + k*d - pb]
 * computed per (n, group) as im2col (rows c,k; columns o) then one GEMM.
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, finish, input, kernelFailIf, numbers, scratch } from "../util.ts";
import { gemmAcc } from "../blas.ts";
import { windowGeometry } from "./conv_util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const conv: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0), w = input(inputs, 1), b = inputs[2];
  kernelFailIf(x.shape.length < 3, `Conv expects an input of rank >= 3, found [${x.shape}]`);
  kernelFailIf(w.shape.length !== x.shape.length, `Conv expects weights of the input's rank`);
  const [N, C] = x.shape;
  const M = w.shape[0];
  const group = attrInt(attrs, "group", 1);
  const Cg = C / group, Mg = M / group;
  kernelFailIf(
    !Number.isInteger(Cg) || !Number.isInteger(Mg) || w.shape[1] !== Cg,
    `Conv with group=${group} expects W of shape [M, ${Cg}, ...], found [${w.shape}] for C=${C}`,
  );
  const inSp = x.shape.slice(2);
  const geo = windowGeometry(attrs, inSp, w.shape.slice(2));
  const outSp = geo.out;
  const P = numel(outSp), inP = numel(inSp), ksz = numel(geo.kernel);
  const rows = Cg * ksz;
  const xv = numbers(x), wv = numbers(w);
  const wf = wv instanceof Float32Array || wv instanceof Float64Array ? wv : Float64Array.from(wv);
  const acc = new Float64Array(N * M * P);
  // A 1x1 kernel with unit strides and no padding reads the input as it is: no im2col.
  const pointwise = ksz === 1 && P === inP && geo.strides.every((s) => s === 1) &&
    geo.padsBegin.every((p) => p === 0) &&
    (xv instanceof Float32Array || xv instanceof Float64Array);
  const cols = pointwise ? undefined : new Float64Array(rows * P);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < group; g++) {
      const xOff = (n * C + g * Cg) * inP, yOff = (n * M + g * Mg) * P;
      if (!cols) {
        gemmAcc(Mg, P, rows, wf, g * Mg * rows, rows, 1, xv as Float32Array, xOff, acc, yOff);
        continue;
      }
      im2col(xv, xOff, Cg, inSp, geo, cols);
      gemmAcc(Mg, P, rows, wf, g * Mg * rows, rows, 1, cols, 0, acc, yOff);
    }
  }
  if (b) {
    const bv = numbers(b);
    for (let n = 0; n < N; n++) {
      for (let m = 0; m < M; m++) {
        const off = (n * M + m) * P;
        for (let p = 0; p < P; p++) acc[off + p] += bv[m];
      }
    }
  }
  const out = scratch(x.dtype, acc.length);
  if (out instanceof Float64Array) out.set(acc);
  else for (let i = 0; i < acc.length; i++) out[i] = acc[i];
  return [finish(x.dtype, [N, M, ...outSp], out)];
};

/**
 * Fill `cols` ([channels * prod(kernel)] x prod(out), row-major) with the
 * input windows; positions in the padding are 0.
 */
export function im2col(
  x: ArrayLike<number>,
  xOff: number,
  channels: number,
  inSp: number[],
  geo: {
    kernel: number[];
    strides: number[];
    dilations: number[];
    padsBegin: number[];
    out: number[];
  },
  cols: Float64Array,
): void {
  const r = inSp.length;
  const P = numel(geo.out), inP = numel(inSp), ksz = numel(geo.kernel);
  if (r === 2) {
    im2col2d(x, xOff, channels, inSp, geo, cols);
    return;
  }
  // General N-d: per kernel offset, per output position, the input position per dim.
  const kOff = new Array<number>(r).fill(0);
  const outIdx = new Array<number>(r).fill(0);
  const inStr = new Array<number>(r);
  for (let d = r - 1, s = 1; d >= 0; d--) {
    inStr[d] = s;
    s *= inSp[d];
  }
  for (let c = 0; c < channels; c++) {
    for (let k = 0; k < ksz; k++) {
      let rest = k;
      for (let d = r - 1; d >= 0; d--) {
        kOff[d] = rest % geo.kernel[d];
        rest = Math.floor(rest / geo.kernel[d]);
      }
      const row = (c * ksz + k) * P;
      for (let p = 0; p < P; p++) {
        let q = p;
        for (let d = r - 1; d >= 0; d--) {
          outIdx[d] = q % geo.out[d];
          q = Math.floor(q / geo.out[d]);
        }
        let idx = 0, inside = true;
        for (let d = 0; d < r; d++) {
          const pos = outIdx[d] * geo.strides[d] + kOff[d] * geo.dilations[d] - geo.padsBegin[d];
          if (pos < 0 || pos >= inSp[d]) {
            inside = false;
            break;
          }
          idx += pos * inStr[d];
        }
        cols[row + p] = inside ? x[xOff + c * inP + idx] : 0;
      }
    }
  }
}

function im2col2d(
  x: ArrayLike<number>,
  xOff: number,
  channels: number,
  [H, W]: number[],
  geo: {
    kernel: number[];
    strides: number[];
    dilations: number[];
    padsBegin: number[];
    out: number[];
  },
  cols: Float64Array,
): void {
  const [KH, KW] = geo.kernel, [SH, SW] = geo.strides, [DH, DW] = geo.dilations;
  const [PH, PW] = geo.padsBegin, [OH, OW] = geo.out;
  const P = OH * OW;
  let row = 0;
  for (let c = 0; c < channels; c++) {
    const plane = xOff + c * H * W;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const base = row * P;
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * SH + kh * DH - PH;
          const dst = base + oh * OW;
          if (ih < 0 || ih >= H) {
            cols.fill(0, dst, dst + OW);
            continue;
          }
          const src = plane + ih * W;
          for (let ow = 0; ow < OW; ow++) {
            const iw = ow * SW + kw * DW - PW;
            cols[dst + ow] = iw >= 0 && iw < W ? x[src + iw] : 0;
          }
        }
        row++;
      }
    }
  }
}
