/** Squeeze: drop the size-1 dims in `axes` (attribute before opset 13), or every size-1 dim. */
import type { Kernel } from "../kernel.ts";
import { attrInts, input, intsOf, kernelFailIf, normAxis, reshaped } from "../util.ts";

export const squeeze: Kernel = (inputs, attrs, ctx) => {
  const x = input(inputs, 0);
  const rank = x.shape.length;
  const raw = ctx.opset < 13 ? attrInts(attrs, "axes") : inputs[1] ? intsOf(inputs[1]) : undefined;
  const axes = new Set((raw ?? []).map((a) => normAxis(a, rank)));
  for (const a of axes) {
    kernelFailIf(x.shape[a] !== 1, `Cannot squeeze axis ${a} of size ${x.shape[a]}`);
  }
  const keep = x.shape.filter((d, i) => (raw && raw.length ? !axes.has(i) : d !== 1));
  return [reshaped(x, keep)];
};
