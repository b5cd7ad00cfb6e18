/**
 * "Did you mean ...?": the nearest known name by edit distance, in time bounded by the name's
 * length and the number of candidates, so that a huge unknown name or a file of thousands of
 * declarations and typos stays linear.
 */

/** Candidates one search looks at, at most: callers list the nearest scopes first. */
export const MAX_CANDIDATES = 5_000;

/** Candidates all the searches of one `Suggester` look at, at most. */
export const SUGGEST_BUDGET = 1_000_000;

/** The known name nearest to `name` (edit distance <= 2, and <= a third of its length). */
export function closest(name: string, known: Iterable<string>): string | undefined {
  return nearest(name, known, MAX_CANDIDATES).best;
}

/**
 * Suggestions with a shared budget: a checker that may look up many unknown names (one per
 * use) makes one, and stops suggesting when the budget is spent.
 */
export class Suggester {
  #left = SUGGEST_BUDGET;

  closest(name: string, known: Iterable<string>): string | undefined {
    if (this.#left <= 0) return undefined;
    const r = nearest(name, known, Math.min(MAX_CANDIDATES, this.#left));
    this.#left -= r.looked;
    return r.best;
  }
}

function nearest(
  name: string,
  known: Iterable<string>,
  limit: number,
): { best?: string; looked: number } {
  const max = Math.min(2, Math.max(1, Math.floor(name.length / 3)));
  const a = name.toLowerCase();
  let best: string | undefined;
  // Only a candidate nearer than the best so far counts: the first of the nearest wins.
  let bound = max;
  let looked = 0;
  for (const k of known) {
    if (looked++ >= limit) break;
    // The distance is at least the difference in length.
    if (Math.abs(k.length - a.length) > bound) continue;
    const d = editDistance(a, k.toLowerCase(), bound);
    if (d <= bound) {
      best = k;
      bound = d - 1;
      if (bound < 0) break;
    }
  }
  return { best, looked };
}

/**
 * Edit distance with adjacent transpositions (optimal string alignment): reul -> relu is 1;
 * any value above `bound` is returned as `bound + 1`. Only the cells within `bound` of the
 * diagonal can hold a distance within it, so the work is O(|a| * bound).
 */
export function editDistance(a: string, b: string, bound: number): number {
  const over = bound + 1;
  if (Math.abs(a.length - b.length) > bound) return over;
  const n = b.length;
  // Three rows (i - 2, i - 1, i), cells outside the band hold `over`.
  let prev2 = new Array<number>(n + 1).fill(over);
  let prev = new Array<number>(n + 1).fill(over);
  let cur = new Array<number>(n + 1).fill(over);
  for (let j = 0; j <= Math.min(n, bound); j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const lo = Math.max(1, i - bound);
    const hi = Math.min(n, i + bound);
    cur.fill(over, Math.max(0, lo - 2), Math.min(n, hi + 1) + 1);
    cur[0] = i <= bound ? i : over;
    let rowMin = cur[0];
    for (let j = lo; j <= hi; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, prev2[j - 2] + 1);
      }
      cur[j] = Math.min(d, over);
      if (cur[j] < rowMin) rowMin = cur[j];
    }
    if (rowMin > bound) return over;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return Math.min(prev[n], over);
}
