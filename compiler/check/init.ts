/**
 * The language's initialisers: the names a .dlm file can call
 * (`init conv2d.weight = kaiming_normal(mode: "fan_out")`) and PyTorch's
 * defaults that the layers use. What an initialiser draws, and the lazy
 * parameters that draw it, are the IR's (ir/init.ts, ir/rng.ts).
 */
import type { InitSpec } from "../ir/init.ts";

/** Names accepted in .dlm (`init conv2d.weight = kaiming_normal(mode: "fan_out")`). */
export const INIT_NAMES = [
  "zeros",
  "ones",
  "constant",
  "normal",
  "uniform",
  "kaiming_normal",
  "kaiming_uniform",
  "xavier_normal",
  "xavier_uniform",
  "trunc_normal",
  // Short forms: kaiming_normal and xavier_uniform.
  "kaiming",
  "xavier",
] as const;

/** PyTorch's default for conv/linear weights: kaiming_uniform(a = sqrt(5)). */
export const TORCH_DEFAULT_WEIGHT: InitSpec = {
  kind: "kaiming_uniform",
  a: Math.sqrt(5),
  mode: "fan_in",
  nonlinearity: "leaky_relu",
};
