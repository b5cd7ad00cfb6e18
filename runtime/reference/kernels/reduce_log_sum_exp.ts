/**
 * ReduceLogSumExp: ln(sum(e^x)) over `axes`, computed as
 * m + ln(sum(e^(x - m))) with m the slot's maximum so it cannot overflow.
 */
import type { Kernel } from "../kernel.ts";
import { finish, input, numbers, scratch } from "../util.ts";
import { planFor } from "./reduce_util.ts";

export const reduceLogSumExp: Kernel = (inputs, attrs, ctx) => {
  const x = input(inputs, 0);
  const plan = planFor(inputs, attrs, ctx, 18);
  const src = numbers(x);
  const { map, size } = plan;
  const m = new Float64Array(size).fill(-Infinity);
  for (let i = 0; i < src.length; i++) if (src[i] > m[map[i]]) m[map[i]] = src[i];
  // An all -inf slot keeps m = 0 so the shift does not produce NaN.
  for (let j = 0; j < size; j++) if (!Number.isFinite(m[j])) m[j] = 0;
  const s = new Float64Array(size);
  for (let i = 0; i < src.length; i++) s[map[i]] += Math.exp(src[i] - m[map[i]]);
  const out = scratch(x.dtype, size);
  for (let j = 0; j < size; j++) out[j] = m[j] + Math.log(s[j]);
  return [finish(x.dtype, plan.shape, out)];
};
