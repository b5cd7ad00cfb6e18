/**
 * Dropout: identity in inference (the default). In training mode (input
 * `training_mode` from opset 12) with ratio r > 0, each element is kept with
 * probability 1 - r and scaled by 1 / (1 - r), from a generator seeded by
 * `seed` (or a fixed default). The optional mask output is true where kept.
 */
import type { Kernel } from "../kernel.ts";
import { attrFloat, fromValues, input, numbers, scalarOf } from "../util.ts";
import { DEFAULT_SEED, makeRng } from "../random.ts";

export const dropout: Kernel = (inputs, attrs, ctx) => {
  const x = input(inputs, 0);
  const ratio = ctx.opset < 12
    ? attrFloat(attrs, "ratio", 0.5)
    : inputs[1]
    ? scalarOf(inputs[1])
    : 0.5;
  const training = ctx.opset >= 12 && inputs[2] ? scalarOf(inputs[2]) !== 0 : false;
  const n = x.data.length;
  if (!training || ratio === 0) {
    return [x, fromValues("bool", x.shape, new Uint8Array(n).fill(1))];
  }
  const rng = makeRng(attrFloat(attrs, "seed", DEFAULT_SEED));
  const xv = numbers(x);
  const mask = new Uint8Array(n), y = new Float64Array(n);
  const keepScale = 1 / (1 - ratio);
  for (let i = 0; i < n; i++) {
    mask[i] = rng.uniform() >= ratio ? 1 : 0;
    y[i] = mask[i] ? xv[i] * keepScale : 0;
  }
  return [fromValues(x.dtype, x.shape, y), fromValues("bool", x.shape, mask)];
};
