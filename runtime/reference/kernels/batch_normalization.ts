/**
 * BatchNormalization over channel dim 1:
 *   Y = scale * (X - mean) / sqrt(var + epsilon) + B
 * Inference (training_mode=0, default) uses the given running statistics.
 * Training mode uses the batch's mean and population variance over all dims
 * but 1, and also returns the updated running statistics:
 *   running = input * momentum + batch * (1 - momentum).
 */
import type { Kernel } from "../kernel.ts";
import { attrFloat, attrInt, finish, input, kernelFailIf, numbers, scratch } from "../util.ts";
import { numel, type Tensor } from "../../../compiler/ir/tensor.ts";

export const batchNormalization: Kernel = (inputs, attrs, ctx) => {
  const x = input(inputs, 0);
  const scale = numbers(input(inputs, 1, "scale")), bias = numbers(input(inputs, 2, "B"));
  const meanIn = input(inputs, 3, "mean"), varIn = input(inputs, 4, "var");
  const eps = attrFloat(attrs, "epsilon", 1e-5);
  const momentum = attrFloat(attrs, "momentum", 0.9);
  const training = attrInt(attrs, "training_mode", 0) !== 0 ||
    (ctx.opset < 14 && ctx.node.outputs.filter((o) => o).length > 1);
  const N = x.shape[0], C = x.shape.length > 1 ? x.shape[1] : 1;
  const inner = numel(x.shape.slice(2));
  kernelFailIf(scale.length !== C, `BatchNormalization expects ${C} scales, found ${scale.length}`);
  const xv = numbers(x);
  let mean = Float64Array.from(numbers(meanIn)), variance = Float64Array.from(numbers(varIn));
  if (training) {
    // The statistics as ReduceMean, Sub, Mul and ReduceMean compute them, each value rounded to
    // x's dtype as those nodes' outputs are (sums in f64, in the same order): a step whose batch
    // norms are one train-mode node each (compiler/train/batch_norm_state.ts,
    // `fuseBatchStatistics`) computes what the split form does, bit for bit.
    const round = x.dtype === "f32" ? Math.fround : (v: number) => v;
    mean = new Float64Array(C);
    variance = new Float64Array(C);
    const count = N * inner;
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const off = (n * C + c) * inner;
        for (let i = 0; i < inner; i++) mean[c] += xv[off + i];
      }
    }
    for (let c = 0; c < C; c++) mean[c] = round(mean[c] / count);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const off = (n * C + c) * inner;
        for (let i = 0; i < inner; i++) {
          const d = round(xv[off + i] - mean[c]);
          variance[c] += round(d * d);
        }
      }
    }
    for (let c = 0; c < C; c++) variance[c] = round(variance[c] / count);
  }
  const out = scratch(x.dtype, xv.length);
  for (let c = 0; c < C; c++) {
    // y = a * x + b with a = scale / sqrt(var + eps), b = B - mean * a.
    const a = scale[c] / Math.sqrt(variance[c] + eps);
    const b = bias[c] - mean[c] * a;
    for (let n = 0; n < N; n++) {
      const off = (n * C + c) * inner;
      for (let i = 0; i < inner; i++) out[off + i] = a * xv[off + i] + b;
    }
  }
  const y = finish(x.dtype, x.shape, out);
  if (!training) return [y];
  const runMean = numbers(meanIn), runVar = numbers(varIn);
  const stat = (run: ArrayLike<number>, batch: Float64Array, like: Tensor) => {
    const s = scratch(like.dtype, C);
    for (let c = 0; c < C; c++) s[c] = run[c] * momentum + batch[c] * (1 - momentum);
    return finish(like.dtype, like.shape, s);
  };
  return [y, stat(runMean, mean, meanIn), stat(runVar, variance, varIn)];
};
