/**
 * Comparing dlm's numbers with PyTorch's for the parity check of the benchmark models
 * (bench/parity_train.ts): closeness with a tolerance that knows how well torch itself is
 * conditioned on each tensor.
 *
 * A training step of a network with batch norms over few values (a 32x32 image reaches 1x1 maps;
 * a channel whose batch values nearly coincide has a variance near zero) amplifies rounding by
 * orders of magnitude: torch's float32 step differs from its own float64 step by up to 1e-1 on
 * some gradients of MobileNetV2 and ResNeXt-50 at batch 16 (bench/torch_parity.py records that
 * deviation per tensor). A float32 implementation cannot be expected to come closer to torch's
 * float32 than that, so a tensor's tolerance is `atol + rtol * |expected| + slack * dev64`, and the
 * report says how many tensors needed the slack.
 */

/** How close is close enough. */
export interface Tolerance {
  atol: number;
  rtol: number;
  /** Multiple of torch's own float32-vs-float64 deviation added to the tolerance. */
  slack: number;
}

/** The tolerances of the parity check: eval logits at ~1e-4, steps scaled by torch's own rounding. */
export const LOGITS_TOLERANCE: Tolerance = { atol: 1e-4, rtol: 0, slack: 0 };
export const STEP_TOLERANCE: Tolerance = { atol: 1e-5, rtol: 1e-4, slack: 10 };

/** One tensor compared. */
export interface Comparison {
  name: string;
  /** Largest |actual - expected|. */
  maxAbs: number;
  /** Flat index of the element furthest over its tolerance (or of maxAbs when all pass). */
  worst: number;
  actual: number;
  expected: number;
  /** torch's float32-vs-float64 deviation of this tensor (0 when unknown). */
  dev64: number;
  ok: boolean;
  /** Passed only thanks to the dev64 slack. */
  needsSlack: boolean;
}

/**
 * Compare two equally long lists of numbers under a tolerance. NaN anywhere fails.
 *
 * @example
 * ```ts
 * compare("w", [1, 2], [1, 2.00001], { atol: 1e-4, rtol: 0, slack: 0 }).ok; // true
 * ```
 */
export function compare(
  name: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  dev64 = 0,
): Comparison {
  if (actual.length !== expected.length) {
    throw new Error(`${name}: ${actual.length} values against torch's ${expected.length}`);
  }
  let maxAbs = 0, worst = -1, worstExcess = -Infinity, strictFail = false, maxAt = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    const strict = tol.atol + tol.rtol * Math.abs(expected[i]);
    const excess = Number.isNaN(d) ? Infinity : d - strict - tol.slack * dev64;
    if (!(d <= strict)) strictFail = true;
    if (Number.isNaN(d) || d > maxAbs) [maxAbs, maxAt] = [Number.isNaN(d) ? Infinity : d, i];
    if (excess > worstExcess) [worstExcess, worst] = [excess, i];
  }
  const ok = worstExcess <= 0;
  const at = ok ? maxAt : worst;
  return {
    name,
    maxAbs,
    worst: expected.length ? at : -1,
    actual: expected.length ? actual[at] : NaN,
    expected: expected.length ? expected[at] : NaN,
    dev64,
    ok,
    needsSlack: ok && strictFail,
  };
}

/** What a set of comparisons says, in one line. */
export function summarizeComparisons(cs: readonly Comparison[]): string {
  const failed = cs.filter((c) => !c.ok);
  const slack = cs.filter((c) => c.needsSlack).length;
  const worst = cs.reduce<Comparison | undefined>(
    (w, c) => (!w || c.maxAbs > w.maxAbs ? c : w),
    undefined,
  );
  const parts = [`${cs.length - failed.length}/${cs.length} tensors within tolerance`];
  if (slack) parts.push(`${slack} only with torch's float64 slack`);
  if (worst) parts.push(`max |diff| ${worst.maxAbs.toExponential(1)} (${worst.name})`);
  return parts.join(", ");
}

/** A failed comparison as a sentence that names the element. */
export function describeFailure(c: Comparison): string {
  return `${c.name}: element ${c.worst} is ${c.actual} but torch says ${c.expected} ` +
    `(|diff| ${Math.abs(c.actual - c.expected).toExponential(2)}; torch's own float32-vs-float64 ` +
    `deviation ${c.dev64.toExponential(1)})`;
}

/** A step's tensor compared, with the comparison against torch's population-variance variant. */
export interface StepComparison extends Comparison {
  /** For a running_var: against what torch would hold with the population variance. */
  population?: Comparison;
}

/** A difference between dlm and PyTorch that is dlm's, known and reported, not the model's. */
export interface KnownDifference {
  id: string;
  /** What differs, as a sentence. */
  what: string;
  /** Where it is (file:line) or who owns it. */
  where: string;
  /** Whether a failed comparison is explained by it. */
  explains(c: StepComparison): boolean;
}

/**
 * The differences the parity check found in dlm itself (not in the benchmark models); a failed
 * comparison they explain is reported under them, so the check still tells a wrong model apart.
 */
export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    id: "num_batches_tracked",
    what: "dlm keeps num_batches_tracked constant in its step; PyTorch adds 1 per training step",
    where: "issue 19, part 4",
    explains: (c) => c.name.endsWith(".num_batches_tracked"),
  },
  {
    id: "running_var",
    what: "dlm updates running_var with the batch's population variance (ONNX " +
      "BatchNormalization in training mode); PyTorch with the unbiased variance (n / (n - 1) " +
      "times it, n the values per channel): the two differ by momentum * var / (n - 1)",
    where: "compiler/check/builtins/layers.ts:320-328 (batch_norm's train-mode lowering)",
    explains: (c) => c.name.endsWith(".running_var") && c.population?.ok === true,
  },
];

/** Failed comparisons split into the unexplained ones and those of each known difference. */
export function classify(cs: readonly StepComparison[]): {
  unexplained: StepComparison[];
  known: Map<string, StepComparison[]>;
} {
  const unexplained: StepComparison[] = [];
  const known = new Map<string, StepComparison[]>();
  for (const c of cs) {
    if (c.ok) continue;
    const k = KNOWN_DIFFERENCES.find((d) => d.explains(c));
    if (!k) unexplained.push(c);
    else known.set(k.id, [...(known.get(k.id) ?? []), c]);
  }
  return { unexplained, known };
}
