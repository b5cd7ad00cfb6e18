/**
 * Window geometry shared by Conv, ConvTranspose and the pooling kernels:
 * kernel size, strides, dilations and pads from the attributes, with
 * auto_pad resolved. For each spatial dim, with effective kernel
 * ek = (k - 1) * d + 1:
 *   NOTSET:  out = floor((in + pb + pe - ek) / s) + 1   (ceil with ceil_mode)
 *   VALID:   out = floor((in - ek) / s) + 1, no pads
 *   SAME_*:  out = ceil(in / s), total pad = max(0, (out - 1) * s + ek - in),
 *            split evenly with the odd one at the end (UPPER) or start (LOWER).
 */
import type { AttrValue } from "../../../compiler/ir/graph.ts";
import { attrInt, attrInts, attrString, kernelFail, kernelFailIf } from "../util.ts";

export interface WindowGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Pads before each spatial dim. */
  padsBegin: number[];
  /** Pads after each spatial dim. */
  padsEnd: number[];
  /** Output spatial dims. */
  out: number[];
}

/** Geometry of a sliding window over `inSpatial` with kernel `kernel` (if not in attrs). */
export function windowGeometry(
  attrs: Record<string, AttrValue>,
  inSpatial: number[],
  kernelFromWeights?: number[],
): WindowGeometry {
  const r = inSpatial.length;
  const kernel = attrInts(attrs, "kernel_shape") ?? kernelFromWeights ??
    kernelFail("Missing attribute 'kernel_shape'");
  kernelFailIf(kernel.length !== r, `Expected a kernel_shape of ${r} dims, found [${kernel}]`);
  const strides = attrInts(attrs, "strides") ?? new Array(r).fill(1);
  const dilations = attrInts(attrs, "dilations") ?? new Array(r).fill(1);
  const pads = attrInts(attrs, "pads") ?? new Array(2 * r).fill(0);
  kernelFailIf(
    strides.length !== r || dilations.length !== r || pads.length !== 2 * r,
    "Expected strides, dilations and pads to match the spatial rank",
  );
  const autoPad = attrString(attrs, "auto_pad", "NOTSET");
  const ceilMode = attrInt(attrs, "ceil_mode", 0) !== 0;
  const padsBegin = new Array<number>(r),
    padsEnd = new Array<number>(r),
    out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const ek = (kernel[i] - 1) * dilations[i] + 1;
    const s = strides[i], n = inSpatial[i];
    if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
      out[i] = Math.ceil(n / s);
      const total = Math.max(0, (out[i] - 1) * s + ek - n);
      const small = Math.floor(total / 2);
      padsBegin[i] = autoPad === "SAME_UPPER" ? small : total - small;
      padsEnd[i] = total - padsBegin[i];
    } else if (autoPad === "VALID") {
      padsBegin[i] = padsEnd[i] = 0;
      out[i] = Math.floor((n - ek) / s) + 1;
    } else if (autoPad === "NOTSET") {
      padsBegin[i] = pads[i];
      padsEnd[i] = pads[i + r];
      const span = n + padsBegin[i] + padsEnd[i] - ek;
      out[i] = (ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
      // With ceil_mode, a last window starting past the input and its left pad is dropped.
      if (ceilMode && (out[i] - 1) * s >= n + padsBegin[i]) out[i]--;
    } else kernelFail(`Unknown auto_pad "${autoPad}"`);
    kernelFailIf(out[i] < 1 && n > 0, `The window (${ek}) is larger than the padded input (${n})`);
    out[i] = Math.max(out[i], 0);
  }
  return { kernel, strides, dilations, padsBegin, padsEnd, out };
}
