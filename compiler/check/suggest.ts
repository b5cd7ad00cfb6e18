/** "Did you mean ...?": the nearest known name by edit distance. */

/** The known name nearest to `name` (edit distance <= 2), for "did you mean". */
export function closest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD || (d === bestD && best !== undefined && k < best)) {
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
  }
  return bestD <= Math.min(2, Math.max(1, Math.floor(name.length / 3))) ? best : undefined;
}

/** Edit distance with adjacent transpositions (optimal string alignment): reul -> relu is 1. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from(
    { length: a.length + 1 },
    (_, i) => [i, ...Array(b.length).fill(0)],
  );
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
