/**
 * Trilu: keep the upper (upper=1, default) or lower triangle of the last two
 * dims, shifted by diagonal k: upper keeps j - i >= k, lower keeps j - i <= k.
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, input, scalarOf } from "../util.ts";
import { allocData } from "../../../compiler/ir/tensor.ts";

export const trilu: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const upper = attrInt(attrs, "upper", 1) !== 0;
  const k = inputs[1] ? scalarOf(inputs[1]) : 0;
  const r = x.shape.length;
  const rows = x.shape[r - 2], cols = x.shape[r - 1];
  const data = allocData(x.dtype, x.data.length) as any;
  const src = x.data as any;
  const zero = x.dtype === "i64" || x.dtype === "u64" ? 0n : 0;
  for (let f = 0; f < src.length; f++) {
    const j = f % cols, i = Math.floor(f / cols) % rows;
    data[f] = (upper ? j - i >= k : j - i <= k) ? src[f] : zero;
  }
  return [{ dtype: x.dtype, shape: [...x.shape], data }];
};
