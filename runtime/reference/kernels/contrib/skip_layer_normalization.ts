/**
 * com.microsoft SkipLayerNormalization: s = input + skip (+ bias), then per
 * row of the last dim H
 *   output = (s - mean) / sqrt(var + epsilon) * gamma + beta
 * (population variance). Outputs: output, mean, inv_std_var (f32, last dim
 * kept as 1) and s itself (input_skip_bias_sum).
 */
import type { Kernel } from "../../kernel.ts";
import { attrFloat, broadcastMap, finish, input, numbers, scratch } from "../../util.ts";

export const skipLayerNormalization: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0, "input"), skip = input(inputs, 1, "skip");
  const gamma = numbers(input(inputs, 2, "gamma"));
  const beta = inputs[3] ? numbers(inputs[3]) : undefined;
  const bias = inputs[4] ? numbers(inputs[4]) : undefined;
  const eps = attrFloat(attrs, "epsilon", 1e-12);
  const xv = numbers(x), sv = numbers(skip);
  const sMap = broadcastMap(x.shape, skip.shape);
  const H = x.shape[x.shape.length - 1], rows = xv.length / H;
  const sum = scratch(x.dtype, xv.length), out = scratch(x.dtype, xv.length);
  // The sum is kept in f64 here and rounded once on output, as the kernel's maths.
  const s = new Float64Array(H);
  const means = new Float32Array(rows), invs = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const off = r * H;
    let mean = 0;
    for (let i = 0; i < H; i++) {
      const f = off + i;
      s[i] = xv[f] + sv[sMap ? sMap[f] : f] + (bias ? bias[i] : 0);
      sum[f] = s[i];
      mean += s[i];
    }
    mean /= H;
    let v = 0;
    for (let i = 0; i < H; i++) v += (s[i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / H + eps);
    means[r] = mean;
    invs[r] = inv;
    for (let i = 0; i < H; i++) {
      out[off + i] = (s[i] - mean) * inv * gamma[i] + (beta ? beta[i] : 0);
    }
  }
  const stat = [...x.shape.slice(0, -1), 1];
  return [
    finish(x.dtype, x.shape, out),
    finish("f32", stat, means),
    finish("f32", stat, invs),
    finish(x.dtype, x.shape, sum),
  ];
};
