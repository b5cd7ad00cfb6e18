/**
 * DynamicQuantizeLinear: u8 quantization with the range widened to include 0:
 *   scale = (max(0, max x) - min(0, min x)) / 255
 *   zero_point = saturate(round(0 - min(0, min x) / scale))
 *   y = saturate(round(x / scale) + zero_point)
 */
import type { Kernel } from "../kernel.ts";
import { finish, input, numbers, scratch } from "../util.ts";
import { saturate } from "./quantize_util.ts";

export const dynamicQuantizeLinear: Kernel = (inputs) => {
  const x = input(inputs, 0);
  const xv = numbers(x);
  let lo = 0, hi = 0;
  for (let i = 0; i < xv.length; i++) {
    lo = Math.min(lo, xv[i]);
    hi = Math.max(hi, xv[i]);
  }
  // The scale is an f32 value; the maths below uses it as stored.
  const scale = Math.fround((hi - lo) / 255);
  // Divisions are f32 divisions, rounded before round-half-even, as in f32 arithmetic.
  const zp = scale === 0 ? 0 : saturate(Math.fround(-lo / scale), "u8");
  const out = scratch("u8", xv.length);
  for (let i = 0; i < xv.length; i++) {
    out[i] = scale === 0 ? zp : saturate(Math.fround(xv[i] / scale), "u8", zp);
  }
  return [
    finish("u8", x.shape, out),
    finish("f32", [], Float32Array.of(scale)),
    finish("u8", [], Uint8Array.of(zp)),
  ];
};
