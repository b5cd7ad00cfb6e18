/**
 * MatMulInteger: i32 = (A - a_zero_point) @ (B - b_zero_point), numpy matmul
 * rules; a_zero_point is a scalar or one per row of A, b_zero_point a scalar
 * or one per column of B.
 */
import type { Kernel } from "../kernel.ts";
import { broadcastMap, fromValues, input, numbers } from "../util.ts";
import { matmulTensors } from "./mat_mul.ts";
import type { Tensor } from "../../../compiler/ir/tensor.ts";

/** x - zp as f64 (exact for 8-bit values), zp broadcast per row (a) or per column (b). */
export function shifted(x: Tensor, zp: Tensor | undefined, perRow: boolean): Tensor {
  const xv = numbers(x);
  const out = new Float64Array(xv.length);
  if (!zp) out.set(xv);
  else {
    const z = numbers(zp);
    // A per-row zero point of A has shape [M]: view it as [M, 1] to broadcast.
    const zShape = z.length === 1 ? [] : perRow ? [z.length, 1] : [z.length];
    const map = broadcastMap(x.shape, zShape);
    for (let i = 0; i < xv.length; i++) out[i] = xv[i] - z[map ? map[i] : 0];
  }
  return { dtype: "f64", shape: x.shape, data: out };
}

export const matMulInteger: Kernel = (inputs) => {
  const a = shifted(input(inputs, 0), inputs[2], true);
  const b = shifted(input(inputs, 1), inputs[3], false);
  const y = matmulTensors(a, b);
  return [fromValues("i32", y.shape, y.data as Float64Array)];
};
