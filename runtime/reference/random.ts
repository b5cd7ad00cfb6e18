/**
 * A small seeded generator for the random ops (RandomNormal, RandomUniform,
 * Dropout in training mode, Bernoulli). Reproducible across runs for a given
 * seed; it does not reproduce numpy's or onnxruntime's streams.
 */

import { mulberry32 } from "../../compiler/ir/rng.ts";

/** Default seed when an op has no `seed` attribute: runs stay reproducible. */
export const DEFAULT_SEED = 0x5eed;

/** A generator of uniform [0, 1) and standard normal numbers. */
export interface Rng {
  uniform(): number;
  normal(): number;
}

/** mulberry32: 32-bit state, full period, good enough for tests and dropout masks. */
export function makeRng(seed: number = DEFAULT_SEED): Rng {
  // Float seeds (ONNX `seed` is a float) are folded to 32 bits.
  const uniform = mulberry32(Math.floor(seed * 1000003) ^ 0x9e3779b9);
  // Box–Muller: two uniforms to one normal (the second one is dropped for simplicity).
  const normal = () => {
    const u = 1 - uniform(), v = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  return { uniform, normal };
}
