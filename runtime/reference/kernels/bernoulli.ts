/** Bernoulli: 1 with probability x, else 0, from the seeded generator; dtype default x's. */
import type { Kernel } from "../kernel.ts";
import { attrDType, attrFloat, fromValues, input, numbers } from "../util.ts";
import { DEFAULT_SEED, makeRng } from "../random.ts";

export const bernoulli: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const rng = makeRng(attrFloat(attrs, "seed", DEFAULT_SEED));
  const p = numbers(x);
  const out = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = rng.uniform() < p[i] ? 1 : 0;
  return [fromValues(attrDType(attrs, "dtype", x.dtype), x.shape, out)];
};
