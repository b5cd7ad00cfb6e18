/**
 * ReverseSequence: for each batch b, reverse the first sequence_lens[b]
 * elements along time_axis (default 0); batch_axis defaults to 1.
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, gatherFlat, input, intsOf, stridesOf } from "../util.ts";

export const reverseSequence: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const lens = intsOf(input(inputs, 1, "sequence_lens"));
  const bAxis = attrInt(attrs, "batch_axis", 1), tAxis = attrInt(attrs, "time_axis", 0);
  const str = stridesOf(x.shape);
  const map = new Int32Array(x.data.length);
  for (let f = 0; f < map.length; f++) {
    const b = Math.floor(f / str[bAxis]) % x.shape[bAxis];
    const t = Math.floor(f / str[tAxis]) % x.shape[tAxis];
    map[f] = t < lens[b] ? f + (lens[b] - 1 - 2 * t) * str[tAxis] : f;
  }
  return [gatherFlat(x, x.shape, map)];
};
