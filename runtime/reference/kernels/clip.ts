/**
 * Clip: y = min(max(x, lo), hi). Bounds are attributes `min`/`max` before
 * opset 11 and optional scalar inputs from 11; absent bounds do not clip.
 */
import type { Kernel } from "../kernel.ts";
import { attrFloat, elems, input, unaryElems } from "../util.ts";

export const clip: Kernel = (inputs, attrs, ctx) => {
  const x = input(inputs, 0);
  let lo: number | bigint | undefined, hi: number | bigint | undefined;
  if (ctx.opset < 11) {
    lo = attrFloat(attrs, "min", -Infinity);
    hi = attrFloat(attrs, "max", Infinity);
  } else {
    lo = inputs[1] ? elems(inputs[1])[0] : undefined;
    hi = inputs[2] ? elems(inputs[2])[0] : undefined;
  }
  return [
    unaryElems(x, (v) => {
      if (lo !== undefined && v < lo) v = lo;
      if (hi !== undefined && v > hi) v = hi;
      return v;
    }),
  ];
};
