/**
 * ConvTranspose: the gradient of Conv with respect to its input, i.e. each
 * input element scatters a weighted kernel into the output:
 *   Y[n, g*Mg + m, i*s + k*d - pb] += X[n, g*Cg + c, i] * W[g*Cg + c, m, k]
 * computed per (n, group) as one GEMM (W_g^T X_g) then col2im.
 */
import type { Kernel } from "../kernel.ts";
import {
  attrInt,
  attrInts,
  attrString,
  finish,
  input,
  kernelFailIf,
  numbers,
  scratch,
} from "../util.ts";
import { gemmAcc } from "../blas.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const convTranspose: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0), w = input(inputs, 1), b = inputs[2];
  const r = x.shape.length - 2;
  kernelFailIf(r < 1, `ConvTranspose expects an input of rank >= 3, found [${x.shape}]`);
  const [N, C] = x.shape;
  const group = attrInt(attrs, "group", 1);
  const Cg = C / group, Mg = w.shape[1], M = Mg * group;
  kernelFailIf(
    w.shape[0] !== C || !Number.isInteger(Cg),
    `ConvTranspose expects W of shape [${C}, M/group, ...], found [${w.shape}]`,
  );
  const inSp = x.shape.slice(2);
  const kernel = attrInts(attrs, "kernel_shape") ?? w.shape.slice(2);
  const strides = attrInts(attrs, "strides") ?? new Array(r).fill(1);
  const dil = attrInts(attrs, "dilations") ?? new Array(r).fill(1);
  const outPad = attrInts(attrs, "output_padding") ?? new Array(r).fill(0);
  const outputShape = attrInts(attrs, "output_shape");
  const autoPad = attrString(attrs, "auto_pad", "NOTSET");
  let pads = attrInts(attrs, "pads") ?? new Array(2 * r).fill(0);
  const outSp = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const full = strides[i] * (inSp[i] - 1) + outPad[i] + (kernel[i] - 1) * dil[i] + 1;
    const target = outputShape
      ? outputShape[outputShape.length - r + i]
      : autoPad.startsWith("SAME")
      ? inSp[i] * strides[i]
      : undefined;
    if (target !== undefined) {
      // Pads are derived from the requested size (spec equations for output_shape).
      if (i === 0) pads = new Array(2 * r).fill(0);
      const total = full - target;
      const half = Math.floor(total / 2);
      pads[i] = autoPad === "SAME_UPPER" ? half : total - half;
      pads[i + r] = total - pads[i];
      outSp[i] = target;
    } else {
      outSp[i] = full - pads[i] - pads[i + r];
    }
  }
  const inP = numel(inSp), outP = numel(outSp), ksz = numel(kernel);
  const xv = numbers(x), wv = numbers(w);
  const xf = xv instanceof Float32Array || xv instanceof Float64Array ? xv : Float64Array.from(xv);
  const wf = wv instanceof Float32Array || wv instanceof Float64Array ? wv : Float64Array.from(wv);
  const rows = Mg * ksz;
  const cols = new Float64Array(rows * inP);
  const acc = new Float64Array(N * M * outP);
  const outStr = new Array<number>(r);
  for (let d = r - 1, s = 1; d >= 0; d--) {
    outStr[d] = s;
    s *= outSp[d];
  }
  const kOff = new Array<number>(r), iIdx = new Array<number>(r);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < group; g++) {
      cols.fill(0);
      // cols[(m, k), i] = sum_c W[g*Cg + c, m, k] * X[n, g*Cg + c, i]
      gemmAcc(rows, inP, Cg, wf, g * Cg * rows, 1, rows, xf, (n * C + g * Cg) * inP, cols, 0);
      for (let m = 0; m < Mg; m++) {
        const yOff = (n * M + g * Mg + m) * outP;
        for (let k = 0; k < ksz; k++) {
          let rest = k;
          for (let d = r - 1; d >= 0; d--) {
            kOff[d] = rest % kernel[d];
            rest = Math.floor(rest / kernel[d]);
          }
          const row = (m * ksz + k) * inP;
          for (let i = 0; i < inP; i++) {
            let q = i;
            for (let d = r - 1; d >= 0; d--) {
              iIdx[d] = q % inSp[d];
              q = Math.floor(q / inSp[d]);
            }
            let idx = 0, inside = true;
            for (let d = 0; d < r; d++) {
              const pos = iIdx[d] * strides[d] + kOff[d] * dil[d] - pads[d];
              if (pos < 0 || pos >= outSp[d]) {
                inside = false;
                break;
              }
              idx += pos * outStr[d];
            }
            if (inside) acc[yOff + idx] += cols[row + i];
          }
        }
      }
    }
  }
  if (b) {
    const bv = numbers(b);
    for (let n = 0; n < N; n++) {
      for (let m = 0; m < M; m++) {
        for (let p = 0; p < outP; p++) acc[(n * M + m) * outP + p] += bv[m];
      }
    }
  }
  const out = scratch(x.dtype, acc.length);
  for (let i = 0; i < acc.length; i++) out[i] = acc[i];
  return [finish(x.dtype, [N, M, ...outSp], out)];
};
