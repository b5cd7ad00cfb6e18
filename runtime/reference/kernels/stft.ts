/**
 * STFT: frames of frame_length samples every frame_step samples
 * (floor((length - frame_length) / frame_step) + 1 of them), each multiplied
 * by the window and transformed by the DFT; onesided (default) keeps
 * frame_length / 2 + 1 bins. Output [batch, frames, bins, 2].
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, finish, input, kernelFailIf, numbers, scalarOf, scratch } from "../util.ts";
import { dft } from "./dft_util.ts";

export const stft: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0, "signal");
  const step = scalarOf(input(inputs, 1, "frame_step"));
  const window = inputs[2] ? numbers(inputs[2]) : undefined;
  const frameLen = inputs[3] ? scalarOf(inputs[3]) : window ? window.length : 0;
  kernelFailIf(frameLen <= 0, "STFT needs a window or a frame_length");
  const onesided = attrInt(attrs, "onesided", 1) !== 0;
  const [B, L, ch] = x.shape;
  const frames = Math.floor((L - frameLen) / step) + 1;
  const bins = onesided ? Math.floor(frameLen / 2) + 1 : frameLen;
  const xv = numbers(x);
  const out = scratch(x.dtype, B * frames * bins * 2);
  const re = new Float64Array(frameLen), im = new Float64Array(frameLen);
  for (let b = 0; b < B; b++) {
    for (let f = 0; f < frames; f++) {
      for (let t = 0; t < frameLen; t++) {
        const at = (b * L + f * step + t) * ch;
        const w = window ? window[t] : 1;
        re[t] = xv[at] * w;
        im[t] = ch === 2 ? xv[at + 1] * w : 0;
      }
      const y = dft(re, im, 0, 1, frameLen, frameLen, bins, false);
      for (let k = 0; k < bins; k++) {
        const at = ((b * frames + f) * bins + k) * 2;
        out[at] = y.re[k];
        out[at + 1] = y.im[k];
      }
    }
  }
  return [finish(x.dtype, [B, frames, bins, 2], out)];
};
