/** Range: start, start + delta, ... while < limit (> limit for delta < 0): ceil((limit - start) / delta) values. */
import type { Kernel } from "../kernel.ts";
import { elems, fromValues, input, isBig, kernelFailIf } from "../util.ts";

export const range: Kernel = (inputs) => {
  const s = input(inputs, 0), l = input(inputs, 1), d = input(inputs, 2);
  const start = elems(s)[0], limit = elems(l)[0], delta = elems(d)[0];
  kernelFailIf(delta == 0, "Range delta must not be 0");
  const n = Math.max(Math.ceil((Number(limit) - Number(start)) / Number(delta)), 0);
  kernelFailIf(n > 2 ** 28, `Range would produce ${n} values`);
  const out = new Array(n);
  if (isBig(s.dtype)) { for (let i = 0; i < n; i++) out[i] = start + BigInt(i) * delta; }
  else for (let i = 0; i < n; i++) out[i] = start + i * delta;
  return [fromValues(s.dtype, [n], out)];
};
