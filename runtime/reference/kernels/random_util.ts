/** Shared by the Random* kernels: output dtype, shape and the seeded generator. */
import type { AttrValue } from "../../../compiler/ir/graph.ts";
import type { DType, Tensor } from "../../../compiler/ir/tensor.ts";
import { numel } from "../../../compiler/ir/tensor.ts";
import { attrDType, attrFloat, fromValues, isFloatType, kernelFailIf } from "../util.ts";
import { DEFAULT_SEED, makeRng, type Rng } from "../random.ts";

/** A tensor of `shape` filled by `draw(rng)`, dtype from `dtype` (default `def`). */
export function randomTensor(
  attrs: Record<string, AttrValue>,
  shape: number[],
  def: DType,
  draw: (rng: Rng) => number,
): Tensor {
  const dtype = attrDType(attrs, "dtype", def);
  kernelFailIf(!isFloatType(dtype), `Random ops produce floats, found dtype ${dtype}`);
  const rng = makeRng(attrFloat(attrs, "seed", DEFAULT_SEED));
  const n = numel(shape);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = draw(rng);
  return fromValues(dtype, shape, v);
}
