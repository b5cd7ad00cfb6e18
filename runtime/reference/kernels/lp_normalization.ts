/** LpNormalization: x / ||x||_p along `axis` (default -1), p = 1 or 2 (default 2). */
import type { Kernel } from "../kernel.ts";
import { attrInt, finish, input, numbers, planReduction, scratch } from "../util.ts";

export const lpNormalization: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const p = attrInt(attrs, "p", 2);
  const plan = planReduction(x.shape, [attrInt(attrs, "axis", -1)], true);
  const xv = numbers(x);
  const norm = new Float64Array(plan.size);
  for (let i = 0; i < xv.length; i++) {
    norm[plan.map[i]] += p === 1 ? Math.abs(xv[i]) : xv[i] * xv[i];
  }
  if (p !== 1) { for (let j = 0; j < norm.length; j++) norm[j] = Math.sqrt(norm[j]); }
  const out = scratch(x.dtype, xv.length);
  for (let i = 0; i < xv.length; i++) out[i] = xv[i] / norm[plan.map[i]];
  return [finish(x.dtype, x.shape, out)];
};
