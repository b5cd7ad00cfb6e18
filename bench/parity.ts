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
  /** When it fails and its shape was given: the leading-axis indices (channels) of its failures. */
  badSlices?: number[];
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
  shape?: readonly number[],
): Comparison {
  if (actual.length !== expected.length) {
    throw new Error(`${name}: ${actual.length} values against torch's ${expected.length}`);
  }
  let maxAbs = 0, worst = -1, worstExcess = -Infinity, strictFail = false, maxAt = 0;
  const per = shape?.length ? expected.length / Math.max(1, shape[0]) : 0;
  const slices = new Set<number>();
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    const strict = tol.atol + tol.rtol * Math.abs(expected[i]);
    const excess = Number.isNaN(d) ? Infinity : d - strict - tol.slack * dev64;
    if (per && excess > 0) slices.add(Math.floor(i / per));
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
    ...(per && !ok ? { badSlices: [...slices].sort((a, b) => a - b) } : {}),
  };
}

/** A ReLU input torch saw within rounding of zero (bench/torch_parity.py's "kinks"). */
export interface Kink {
  /** The ReLU module, e.g. "layer4.0.relu". */
  module: string;
  channel: number;
  value: number;
}

const parent = (path: string) => path.split(".").slice(0, -1).join(".");

/**
 * The kink that explains a failed comparison, if any: a ReLU of the same block as the tensor's
 * layer (the same parent module: `layer4.0.relu` for `layer4.0.conv1.weight`,
 * `features.14.conv.0.2` for `features.14.conv.0.0.weight`) had an input within rounding of zero
 * in a channel, and every failing element of the tensor lies in such a channel. Whether that ReLU
 * passes its gradient is then rounding's choice, and the choice moves that channel's gradient
 * by as much as the gradient itself; a wrong model or gradient rule would not stay in one channel.
 */
export function kinkExplaining(c: Comparison, kinks: readonly Kink[]): Kink | undefined {
  if (c.ok || !c.badSlices?.length) return undefined;
  const param = c.name.replace(/^momentum_buffer:/, "");
  const block = parent(parent(param));
  const near = kinks.filter((k) => parent(k.module) === block);
  const channels = new Set(near.map((k) => k.channel));
  if (!c.badSlices.every((i) => channels.has(i))) return undefined;
  return near.find((k) => k.channel === c.badSlices![0]);
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
export function describeFailure(c: StepComparison): string {
  const kink = c.kink
    ? `; torch's ReLU input at ${c.kink.module} channel ${c.kink.channel} was ${
      c.kink.value.toExponential(1)
    }`
    : "";
  return `${c.name}: element ${c.worst} is ${c.actual} but torch says ${c.expected} ` +
    `(|diff| ${Math.abs(c.actual - c.expected).toExponential(2)}; torch's own float32-vs-float64 ` +
    `deviation ${c.dev64.toExponential(1)}${kink})`;
}

/** A step's tensor compared. */
export interface StepComparison extends Comparison {
  /** The ReLU kink that explains the failure (kinkExplaining), if any. */
  kink?: Kink;
}

/** A difference between dlm and PyTorch that is known and reported, not the model's. */
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
 * The differences the parity check found that are not the benchmark models' (dlm's own, and
 * rounding's at ReLU kinks); a failed comparison they explain is reported under them, so the
 * check still tells a wrong model apart.
 */
export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    id: "relu_kink",
    what: "a ReLU input of that channel lay within 1e-5 of zero in torch's forward, so float32 " +
      "rounding decides whether its gradient passes (not a difference of dlm's)",
    where: "rounding (bench/torch_parity.py records the kinks)",
    explains: (c) => c.kink !== undefined,
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
