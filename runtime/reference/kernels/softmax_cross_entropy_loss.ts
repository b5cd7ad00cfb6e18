/**
 * SoftmaxCrossEntropyLoss: log_prob = LogSoftmax(scores) over the class dim
 * 1, then the negative log likelihood of the labels (see nll_util.ts).
 * The optional second output is log_prob.
 */
import type { Kernel } from "../kernel.ts";
import { finish, input, numbers, scratch } from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";
import { nllLoss } from "./nll_util.ts";

export const softmaxCrossEntropyLoss: Kernel = (inputs, attrs) => {
  const scores = input(inputs, 0), labels = input(inputs, 1, "labels");
  const [N, C] = scores.shape;
  const D = numel(scores.shape.slice(2));
  const s = numbers(scores);
  const lp = scratch(scores.dtype, s.length);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      // log_softmax_c = s_c - m - ln(sum_j e^(s_j - m)), m the maximum over classes.
      let m = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, s[(n * C + c) * D + d]);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(s[(n * C + c) * D + d] - m);
      const lse = m + Math.log(sum);
      for (let c = 0; c < C; c++) lp[(n * C + c) * D + d] = s[(n * C + c) * D + d] - lse;
    }
  }
  const logProb = finish(scores.dtype, scores.shape, lp);
  return [nllLoss(logProb, labels, inputs[2], attrs), logProb];
};
