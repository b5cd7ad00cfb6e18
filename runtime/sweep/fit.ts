/**
 * Scaling-law fits for `dlm sweep`: the power law with an offset
 * L(N) = a·N^-alpha + c (Kaplan et al., 2020; Hoffmann et al., 2022) by
 * least squares, and the compute-optimal frontier of a family of runs.
 */

/** A fitted L(x) = a·x^-alpha + c. */
export interface PowerLawFit {
  a: number;
  alpha: number;
  c: number;
  /** Residual sum of squares, in L. */
  rss: number;
  /** 1 - rss / (sum of squares about the mean); 1 for a perfect fit. */
  r2: number;
  /** Points fitted. */
  n: number;
  /**
   * "offset": a, alpha and c fitted; "pure": c held at 0 (fewer than three distinct x, which
   * cannot determine three parameters).
   */
  kind: "offset" | "pure";
}

/** Evaluate a fit at x. */
export function powerLaw(f: Pick<PowerLawFit, "a" | "alpha" | "c">, x: number): number {
  return f.a * Math.pow(x, -f.alpha) + f.c;
}

/**
 * Least squares fit of y = a·x^-alpha + c to points with x > 0 and y > 0.
 *
 * The problem is linear in (log a, alpha) once c is fixed: log(y - c) = log a - alpha·log x.
 * So the start is a grid over c in [0, min y) (uniform, then geometrically closer to min y, where
 * a flat family's offset sits), each c with the straight-line fit of log(y - c) on log x, keeping
 * the c whose curve has the least squared residual in y itself. That start is refined by
 * Gauss-Newton with Levenberg-Marquardt damping on the residuals r_i = a·x_i^-alpha + c - y_i,
 * whose Jacobian is
 *
 *   dr/da = x^-alpha,   dr/dalpha = -a·x^-alpha·ln x,   dr/dc = 1,
 *
 * with x scaled by its geometric mean g (x = g·u, a·x^-alpha = (a·g^-alpha)·u^-alpha) so that
 * ln u is centred and the normal equations are well conditioned. A step is taken only when it
 * lowers the residual and keeps a > 0 and 0 <= c < min y (a loss has an irreducible part that
 * is non-negative and below every observed loss); otherwise the damping grows.
 *
 * With fewer than three distinct x the offset is not determined: c is held at 0 and the fit is
 * the straight line in log-log space ("pure"). Returns undefined for fewer than two points or
 * two distinct x.
 *
 * @example
 * ```ts
 * const f = fitPowerLaw([1e3, 1e4, 1e5, 1e6].map((n) => ({ x: n, y: 2 * n ** -0.3 + 1.5 })))!;
 * // f.alpha ≈ 0.3, f.a ≈ 2, f.c ≈ 1.5
 * ```
 */
export function fitPowerLaw(points: readonly { x: number; y: number }[]): PowerLawFit | undefined {
  const pts = points.filter((p) => p.x > 0 && p.y > 0 && isFinite(p.x) && isFinite(p.y));
  const distinct = new Set(pts.map((p) => p.x)).size;
  if (pts.length < 2 || distinct < 2) return undefined;
  const g = Math.exp(pts.reduce((s, p) => s + Math.log(p.x), 0) / pts.length);
  const lu = pts.map((p) => Math.log(p.x / g));
  const ys = pts.map((p) => p.y);
  const minY = Math.min(...ys);
  const mean = ys.reduce((s, y) => s + y, 0) / ys.length;
  const tss = ys.reduce((s, y) => s + (y - mean) ** 2, 0);
  // Residual sum of squares of (b, alpha, c), b = a·g^-alpha the coefficient in u.
  const rssOf = (b: number, alpha: number, c: number) =>
    lu.reduce((s, l, i) => s + (b * Math.exp(-alpha * l) + c - ys[i]) ** 2, 0);
  const lineFit = (c: number) => {
    // log(y - c) = log b - alpha·log u, by ordinary least squares.
    const ly = ys.map((y) => Math.log(y - c));
    const ml = lu.reduce((s, v) => s + v, 0) / lu.length;
    const my = ly.reduce((s, v) => s + v, 0) / ly.length;
    let sxy = 0, sxx = 0;
    lu.forEach((l, i) => {
      sxy += (l - ml) * (ly[i] - my);
      sxx += (l - ml) ** 2;
    });
    const alpha = -sxy / sxx;
    const b = Math.exp(my + alpha * ml);
    return { b, alpha, c, rss: rssOf(b, alpha, c) };
  };
  const done = (b: number, alpha: number, c: number, kind: PowerLawFit["kind"]): PowerLawFit => {
    const rss = rssOf(b, alpha, c);
    return {
      a: b * Math.pow(g, alpha),
      alpha,
      c,
      rss,
      r2: tss > 0 ? 1 - rss / tss : 1,
      n: pts.length,
      kind,
    };
  };
  if (distinct < 3) {
    const f = lineFit(0);
    return done(f.b, f.alpha, 0, "pure");
  }
  const grid: number[] = [];
  for (let k = 0; k < 100; k++) grid.push((minY * k) / 100);
  for (let k = 1; k <= 40; k++) grid.push(minY * (1 - Math.pow(10, -2 - k / 8)));
  let best = lineFit(0);
  for (const c of grid) {
    const f = lineFit(c);
    if (isFinite(f.rss) && f.rss < best.rss) best = f;
  }
  let { b, alpha, c } = best;
  let rss = best.rss;
  let lambda = 1e-3;
  for (let it = 0; it < 200 && rss > 0; it++) {
    // Normal equations J'J d = -J'r over (b, alpha, c).
    const jtj = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
    const jtr = [0, 0, 0];
    lu.forEach((l, i) => {
      const e = Math.exp(-alpha * l);
      const j = [e, -b * e * l, 1];
      const r = b * e + c - ys[i];
      for (let p = 0; p < 3; p++) {
        jtr[p] += j[p] * r;
        for (let q = 0; q < 3; q++) jtj[p][q] += j[p] * j[q];
      }
    });
    let improved = false;
    while (lambda < 1e12) {
      const m = jtj.map((row, p) => row.map((v, q) => (p === q ? v * (1 + lambda) : v)));
      const d = solve3(m, jtr.map((v) => -v));
      if (d) {
        const [nb, na, nc] = [b + d[0], alpha + d[1], c + d[2]];
        const nr = nb > 0 && nc >= 0 && nc < minY ? rssOf(nb, na, nc) : Infinity;
        if (nr < rss) {
          const small = rss - nr <= 1e-14 * Math.max(rss, 1e-300);
          [b, alpha, c, rss] = [nb, na, nc, nr];
          lambda = Math.max(lambda / 10, 1e-12);
          improved = !small;
          break;
        }
      }
      lambda *= 10;
    }
    if (!improved) break;
  }
  return done(b, alpha, c, "offset");
}

/** Solve the 3×3 system m·x = v by Gaussian elimination with partial pivoting. */
function solve3(m: number[][], v: number[]): number[] | undefined {
  const a = m.map((row, i) => [...row, v[i]]);
  for (let col = 0; col < 3; col++) {
    let piv = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) piv = r;
    if (!(Math.abs(a[piv][col]) > 1e-300)) return undefined;
    [a[col], a[piv]] = [a[piv], a[col]];
    for (let r = 0; r < 3; r++) {
      if (r === col) continue;
      const f = a[r][col] / a[col][col];
      for (let k = col; k < 4; k++) a[r][k] -= f * a[col][k];
    }
  }
  return a.map((row, i) => row[3] / a[i][i]);
}

/**
 * The compute-optimal frontier: the points, in order of compute, whose loss is lower than that
 * of every point of less (or equal) compute; the lowest loss reached for each budget of compute.
 */
export function computeFrontier<P extends { compute: number; loss: number }>(
  points: readonly P[],
): P[] {
  const sorted = points.filter((p) => isFinite(p.compute) && isFinite(p.loss))
    .sort((p, q) => p.compute - q.compute || p.loss - q.loss);
  const out: P[] = [];
  for (const p of sorted) if (!out.length || p.loss < out[out.length - 1].loss) out.push(p);
  return out;
}

/**
 * The value a run's metric must reach to count as reaching the share `reach` of a reference's
 * (Li et al.'s d_90 at 0.9): `reach * reference` when larger is better; when smaller is better
 * (a loss), `reference / reach`, the same share of 1/value.
 */
export function reachThreshold(reference: number, reach: number, lowerIsBetter: boolean): number {
  return lowerIsBetter ? reference / reach : reach * reference;
}

/** The point of fewest parameters `n` whose `value` reaches `threshold`, if any does. */
export function fewestReaching<P extends { n: number; value: number }>(
  points: readonly P[],
  threshold: number,
  lowerIsBetter: boolean,
): P | undefined {
  return [...points].sort((a, b) => a.n - b.n)
    .find((p) => lowerIsBetter ? p.value <= threshold : p.value >= threshold);
}
