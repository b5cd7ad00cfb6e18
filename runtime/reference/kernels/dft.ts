/**
 * DFT: the discrete Fourier transform along `axis` (default 1) of a signal
 * [batch, dims..., 1 or 2] (real, or real and imaginary parts), zero-padded
 * or cut to dft_length; onesided keeps bins 0..floor(n/2); inverse divides by n.
 * Output [..., 2].
 */
import type { Kernel } from "../kernel.ts";
import {
  attrInt,
  finish,
  input,
  kernelFailIf,
  normAxis,
  numbers,
  scalarOf,
  scratch,
} from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";
import { dft } from "./dft_util.ts";

export const dftKernel: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const r = x.shape.length;
  kernelFailIf(r < 2 || x.shape[r - 1] > 2, `DFT expects [..., 1 or 2], found [${x.shape}]`);
  const complex = x.shape[r - 1] === 2;
  const axis = normAxis(attrInt(attrs, "axis", 1), r - 1);
  const inverse = attrInt(attrs, "inverse", 0) !== 0;
  const onesided = attrInt(attrs, "onesided", 0) !== 0;
  const len = x.shape[axis];
  const size = inputs[1] ? scalarOf(inputs[1]) : len;
  const bins = onesided ? Math.floor(size / 2) + 1 : size;
  const xv = numbers(x);
  const ch = x.shape[r - 1];
  const re = new Float64Array(xv.length / ch),
    im = complex ? new Float64Array(re.length) : undefined;
  for (let i = 0; i < re.length; i++) {
    re[i] = xv[i * ch];
    if (im) im[i] = xv[i * ch + 1];
  }
  const dims = x.shape.slice(0, r - 1);
  const outer = numel(dims.slice(0, axis)), inner = numel(dims.slice(axis + 1));
  const outDims = dims.map((d, i) => (i === axis ? bins : d));
  const out = scratch(x.dtype, numel(outDims) * 2);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const y = dft(re, im, o * len * inner + j, inner, len, size, bins, inverse);
      for (let k = 0; k < bins; k++) {
        const at = ((o * bins + k) * inner + j) * 2;
        out[at] = y.re[k];
        out[at + 1] = y.im[k];
      }
    }
  }
  return [finish(x.dtype, [...outDims, 2], out)];
};
