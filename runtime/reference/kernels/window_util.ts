/**
 * The generalized cosine windows (HannWindow, HammingWindow, BlackmanWindow):
 *   w[n] = sum_k (-1)^k a_k cos(2 pi k n / N),  n < size,
 * with N = size when periodic (default), size - 1 when symmetric.
 */
import type { AttrValue } from "../../../compiler/ir/graph.ts";
import type { Tensor } from "../../../compiler/ir/tensor.ts";
import { attrDType, attrInt, fromValues, input, scalarOf } from "../util.ts";

/** The window of coefficients `a` for the size in inputs[0]. */
export function cosineWindow(
  inputs: (Tensor | undefined)[],
  attrs: Record<string, AttrValue>,
  a: number[],
): Tensor {
  const size = scalarOf(input(inputs, 0, "size"));
  const periodic = attrInt(attrs, "periodic", 1) !== 0;
  const N = periodic ? size : size - 1;
  const out = new Float64Array(size);
  for (let n = 0; n < size; n++) {
    let w = 0;
    a.forEach((ak, k) => (w += (k % 2 ? -ak : ak) * Math.cos((2 * Math.PI * k * n) / N)));
    out[n] = w;
  }
  return fromValues(attrDType(attrs, "output_datatype", "f32"), [size], out);
}
