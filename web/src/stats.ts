/** An output's shape and statistics, as the run panel shows them. */
import type { Tensor } from "../../compiler/ir/tensor.ts";
import type { OutputSummary } from "./protocol.ts";

/** Min, max, mean and (population) standard deviation over the finite values of `t`. */
export function outputSummary(name: string, t: Tensor): OutputSummary {
  let min = Infinity, max = -Infinity, sum = 0, sq = 0, n = 0;
  if (t.dtype !== "str") {
    for (let i = 0; i < t.data.length; i++) {
      const v = Number(t.data[i]);
      if (!Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      sq += v * v;
      n++;
    }
  }
  const mean = n ? sum / n : NaN;
  const std = n ? Math.sqrt(Math.max(0, sq / n - mean * mean)) : NaN;
  return {
    name,
    dtype: t.dtype,
    shape: [...t.shape],
    min: n ? min : NaN,
    max: n ? max : NaN,
    mean,
    std,
  };
}
