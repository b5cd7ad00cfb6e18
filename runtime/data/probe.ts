/**
 * A feature probe: how well a fixed encoder's features separate labelled
 * classes, read out by the nearest class mean. Features are L2-normalised
 * (the readout is by cosine, as SimCLR's), each class's mean is taken over
 * the fitting rows, and a held-out row is assigned the class whose
 * normalised mean has the largest dot product with it:
 *   f_i = x_i / |x_i|,  m_c = mean{f_i : y_i = c} / |.|,  y^_j = argmax_c f_j . m_c.
 * No training, no hyperparameters: the figure measures the features alone.
 */
import type { Tensor } from "../../compiler/ir/tensor.ts";

/** Accuracy on `test` of the nearest normalised class mean fitted on `fit` (row indices). */
export function nearestClassMean(
  features: Tensor,
  labels: readonly number[],
  fit: readonly number[],
  test: readonly number[],
): number {
  const n = features.shape[0];
  const d = n ? (features.data as ArrayLike<number>).length / n : 0;
  const x = features.data as ArrayLike<number>;
  const row = (i: number) => {
    const r = new Float64Array(d);
    let s = 0;
    for (let k = 0; k < d; k++) s += Number(x[i * d + k]) ** 2;
    const inv = 1 / Math.sqrt(s + 1e-12);
    for (let k = 0; k < d; k++) r[k] = Number(x[i * d + k]) * inv;
    return r;
  };
  const means = new Map<number, Float64Array>();
  for (const i of fit) {
    const c = labels[i];
    let m = means.get(c);
    if (!m) means.set(c, m = new Float64Array(d));
    const r = row(i);
    for (let k = 0; k < d; k++) m[k] += r[k];
  }
  for (const m of means.values()) {
    let s = 0;
    for (let k = 0; k < d; k++) s += m[k] * m[k];
    const inv = 1 / Math.sqrt(s + 1e-12);
    for (let k = 0; k < d; k++) m[k] *= inv;
  }
  let right = 0;
  for (const j of test) {
    const r = row(j);
    let best = -Infinity, bestC = NaN;
    for (const [c, m] of means) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += r[k] * m[k];
      if (dot > best) [best, bestC] = [dot, c];
    }
    if (bestC === labels[j]) right++;
  }
  return test.length ? right / test.length : NaN;
}
