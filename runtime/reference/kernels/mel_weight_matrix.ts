/**
 * MelWeightMatrix: [dft_length / 2 + 1, num_mel_bins] triangular filters
 * with peak 1, their edges evenly spaced on the mel scale
 * mel(f) = 2595 log10(1 + f / 700) between lower_edge_hertz and
 * upper_edge_hertz and mapped to bins floor((dft_length + 1) f / sample_rate),
 * as the ONNX reference computes them.
 */
import type { Kernel } from "../kernel.ts";
import { attrDType, fromValues, input, scalarOf } from "../util.ts";

export const melWeightMatrix: Kernel = (inputs, attrs) => {
  const [mels, dftLen, rate] = [0, 1, 2].map((i) => scalarOf(input(inputs, i)));
  const lo = scalarOf(input(inputs, 3)), hi = scalarOf(input(inputs, 4));
  const specBins = Math.floor(dftLen / 2) + 1;
  const toMel = (f: number) => 2595 * Math.log10(1 + f / 700);
  // The ONNX reference divides the mel range by num_mel_bins + 2 (not + 1), so the
  // last edge stays one step below upper_edge_hertz; it defines the expected values.
  const loMel = toMel(lo), step = (toMel(hi) - loMel) / (mels + 2);
  const edges = Array.from({ length: mels + 2 }, (_, i) => {
    const hz = 700 * (Math.pow(10, (i * step + loMel) / 2595) - 1);
    return Math.floor(((dftLen + 1) * hz) / rate);
  });
  const out = new Float64Array(specBins * mels);
  for (let i = 0; i < mels; i++) {
    const [l, c, h] = [edges[i], edges[i + 1], edges[i + 2]];
    if (c === l) out[c * mels + i] = 1;
    else for (let j = l; j <= c; j++) out[j * mels + i] = (j - l) / (c - l);
    if (h > c) { for (let j = c; j < h; j++) out[j * mels + i] = (h - j) / (h - c); }
  }
  return [fromValues(attrDType(attrs, "output_datatype", "f32"), [specBins, mels], out)];
};
