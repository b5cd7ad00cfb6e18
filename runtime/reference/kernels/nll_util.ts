/**
 * The negative log likelihood shared by NegativeLogLikelihoodLoss and
 * SoftmaxCrossEntropyLoss. For input [N, C, d...] and target [N, d...]:
 *   loss[n, d] = -input[n, target[n, d], d] * w[target[n, d]]
 * (w = 1 without weights; 0 where target == ignore_index), then reduced:
 * "none" keeps loss, "sum" adds it, "mean" divides the sum by sum of w.
 */
import type { AttrValue } from "../../../compiler/ir/graph.ts";
import { numel, type Tensor } from "../../../compiler/ir/tensor.ts";
import { attrString, finish, intsOf, kernelFail, kernelFailIf, numbers, scratch } from "../util.ts";

export function nllLoss(
  input: Tensor,
  target: Tensor,
  weight: Tensor | undefined,
  attrs: Record<string, AttrValue>,
): Tensor {
  kernelFailIf(input.shape.length < 2, `Expected an input of rank >= 2, found [${input.shape}]`);
  const [N, C] = input.shape;
  const D = numel(input.shape.slice(2));
  kernelFailIf(
    numel(target.shape) !== N * D,
    `Expected a target of shape [${[N, ...input.shape.slice(2)]}], found [${target.shape}]`,
  );
  const reduction = attrString(attrs, "reduction", "mean");
  const ignore = attrs.ignore_index as number | undefined;
  const x = numbers(input), t = intsOf(target), w = weight ? numbers(weight) : undefined;
  const loss = new Float64Array(N * D);
  let total = 0, wsum = 0;
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const c = t[n * D + d];
      if (c === ignore) continue;
      kernelFailIf(c < 0 || c >= C, `Target class ${c} is out of range [0, ${C})`);
      const wc = w ? w[c] : 1;
      const l = -x[(n * C + c) * D + d] * wc;
      loss[n * D + d] = l;
      total += l;
      wsum += wc;
    }
  }
  if (reduction === "none") {
    const out = scratch(input.dtype, loss.length);
    for (let i = 0; i < loss.length; i++) out[i] = loss[i];
    return finish(input.dtype, [...target.shape], out);
  }
  const out = scratch(input.dtype, 1);
  if (reduction === "sum") out[0] = total;
  else if (reduction === "mean") out[0] = total / wsum;
  else kernelFail(`Unknown reduction "${reduction}"`);
  return finish(input.dtype, [], out);
}
