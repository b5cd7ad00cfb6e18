/** Stacking per-iteration results along a new axis (Loop and Scan outputs). */
import type { Tensor } from "../../../compiler/ir/tensor.ts";
import { reshaped } from "../util.ts";
import { concatTensors } from "./concat.ts";

/** Tensors of one shape stacked along a new axis `axis` (0..rank). */
export function stack(ts: Tensor[], axis: number): Tensor {
  const shape = ts[0].shape;
  const withAxis = [...shape.slice(0, axis), 1, ...shape.slice(axis)];
  return concatTensors(ts.map((t) => reshaped(t, withAxis)), axis);
}
