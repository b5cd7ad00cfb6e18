/**
 * Timing helpers for the benchmarks: run a function a few times to warm up
 * (JIT, caches, lazy loading), then time each of the measured runs.
 */

/** The timings of one benchmark, in milliseconds. */
export interface Timing {
  /** Median of `runs`: robust to the odd slow run (GC, another process). */
  median: number;
  min: number;
  max: number;
  /** Every measured run, in order. */
  runs: number[];
}

/** How many times to run: `warmup` untimed runs, then `runs` timed ones (at least 1). */
export interface Repeat {
  warmup: number;
  runs: number;
}

/**
 * The median of a non-empty list: the middle value, or the mean of the two
 * middle values for an even length.
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * median([4, 1, 3, 2]); // 2.5
 * ```
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("median() of an empty list");
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Summarise measured run times (ms). */
export function summarize(runs: number[]): Timing {
  return { median: median(runs), min: Math.min(...runs), max: Math.max(...runs), runs };
}

/**
 * Time a synchronous function: `warmup` untimed calls, then `runs` timed ones.
 *
 * @example
 * ```ts
 * const t = timeSync(() => parse(text, path), { warmup: 2, runs: 10 });
 * console.log(`${t.median.toFixed(1)} ms`);
 * ```
 */
export function timeSync(fn: () => unknown, repeat: Repeat): Timing {
  for (let i = 0; i < repeat.warmup; i++) fn();
  const runs: number[] = [];
  for (let i = 0; i < Math.max(1, repeat.runs); i++) {
    const t0 = performance.now();
    fn();
    runs.push(performance.now() - t0);
  }
  return summarize(runs);
}
