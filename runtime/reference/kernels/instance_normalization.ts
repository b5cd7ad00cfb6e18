/**
 * InstanceNormalization: each (n, c) plane normalized by its own mean and
 * population variance: y = scale[c] * (x - mean) / sqrt(var + epsilon) + B[c].
 */
import type { Kernel } from "../kernel.ts";
import { attrFloat, finish, input, numbers, scratch } from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const instanceNormalization: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const scale = numbers(input(inputs, 1, "scale")), bias = numbers(input(inputs, 2, "B"));
  const eps = attrFloat(attrs, "epsilon", 1e-5);
  const [N, C] = x.shape;
  const inner = numel(x.shape.slice(2));
  const xv = numbers(x);
  const out = scratch(x.dtype, xv.length);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const off = (n * C + c) * inner;
      let mean = 0;
      for (let i = 0; i < inner; i++) mean += xv[off + i];
      mean /= inner;
      let v = 0;
      for (let i = 0; i < inner; i++) v += (xv[off + i] - mean) ** 2;
      v /= inner;
      const a = scale[c] / Math.sqrt(v + eps);
      for (let i = 0; i < inner; i++) out[off + i] = a * (xv[off + i] - mean) + bias[c];
    }
  }
  return [finish(x.dtype, x.shape, out)];
};
