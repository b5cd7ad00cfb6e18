/**
 * The training chart: loss and accuracy against the step, as one SVG (two panels side by side),
 * drawn from the points alone so that it is redrawn whole at each update and tested as text.
 * Per-run training values are thin lines, per-epoch validation values dots joined by a line.
 */

export interface Series {
  name: string;
  color: string;
  /** [step, value] points, in step order. */
  points: [number, number][];
  /** Dots at the points (the per-epoch validation values). */
  dots?: boolean;
}

export interface Panel {
  title: string;
  series: Series[];
  /** A fixed value range (accuracy: [0, 1]); default the data's, from 0. */
  range?: [number, number];
  /** Where the legend goes: away from where the curves end (default "top"). */
  legend?: "top" | "bottom";
}

const W = 300, H = 190, L = 44, R = 8, T = 22, B = 30;

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** "Nice" tick values over [lo, hi]: steps of 1, 2 or 5 times a power of ten, about `n` of them. */
export function ticks(lo: number, hi: number, n = 4): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Number(v.toPrecision(12)));
  }
  return out;
}

function panel(p: Panel, x0: number, maxStep: number): string {
  const values = p.series.flatMap((s) => s.points.map((q) => q[1])).filter(Number.isFinite);
  const [lo, hi] = p.range ?? [0, Math.max(1e-9, ...values) * 1.05];
  const sx = (x: number) => x0 + L + (x / Math.max(1, maxStep)) * (W - L - R);
  const sy = (y: number) =>
    T + (1 - (Math.min(Math.max(y, lo), hi) - lo) / (hi - lo)) * (H - T - B);
  const f = (v: number) => v.toFixed(1);
  const parts: string[] = [
    `<text x="${x0 + L}" y="14" font-weight="bold">${esc(p.title)}</text>`,
    `<rect x="${x0 + L}" y="${T}" width="${W - L - R}" height="${
      H - T - B
    }" fill="none" stroke="#999"/>`,
  ];
  for (const t of ticks(lo, hi)) {
    parts.push(
      `<line x1="${x0 + L}" x2="${x0 + W - R}" y1="${f(sy(t))}" y2="${f(sy(t))}" stroke="#eee"/>`,
      `<text x="${x0 + L - 4}" y="${f(sy(t) + 4)}" text-anchor="end">${t}</text>`,
    );
  }
  for (const t of ticks(0, Math.max(1, maxStep), 3)) {
    parts.push(
      `<text x="${f(sx(t))}" y="${H - B + 14}" text-anchor="middle">${t}</text>`,
    );
  }
  parts.push(`<text x="${x0 + (W + L) / 2}" y="${H - 3}" text-anchor="middle">step</text>`);
  p.series.forEach((s, i) => {
    const pts = s.points.filter((q) => Number.isFinite(q[1]));
    if (pts.length) {
      const d = pts.map(([x, y]) => `${f(sx(x))},${f(sy(y))}`).join(" ");
      parts.push(
        `<polyline class="series" data-name="${
          esc(s.name)
        }" points="${d}" fill="none" stroke="${s.color}" stroke-width="${s.dots ? 1.5 : 1}"/>`,
      );
      if (s.dots) {
        for (const [x, y] of pts) {
          parts.push(`<circle cx="${f(sx(x))}" cy="${f(sy(y))}" r="2.5" fill="${s.color}"/>`);
        }
      }
    }
    // The legend, with the last value.
    const last = pts.at(-1)?.[1];
    const y = p.legend === "bottom" ? H - B - 6 - 13 * (p.series.length - 1 - i) : T + 14 + 13 * i;
    parts.push(
      `<text x="${x0 + W - R - 4}" y="${y}" text-anchor="end" fill="${s.color}">${esc(s.name)}${
        last === undefined ? "" : ` ${last.toFixed(3)}`
      }</text>`,
    );
  });
  return parts.join("");
}

/** The panels side by side, over a common step axis. */
export function chartSvg(panels: Panel[]): string {
  const maxStep = Math.max(
    1,
    ...panels.flatMap((p) => p.series.flatMap((s) => s.points.map((q) => q[0]))),
  );
  const body = panels.map((p, i) => panel(p, i * W, maxStep)).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * panels.length}" height="${H}" ` +
    `viewBox="0 0 ${W * panels.length} ${H}" font-family="sans-serif" font-size="10">` +
    `<rect width="100%" height="100%" fill="#fff"/>${body}</svg>`;
}

/**
 * An exponential moving average of a per-run series (each run's mean is noisy, most of all an
 * epoch's last run of one small batch): s_i = s_{i-1} + a (v_i - s_{i-1}), s_0 = v_0.
 */
export function smooth(points: readonly [number, number][], a = 0.3): [number, number][] {
  let s = NaN;
  return points.map(([x, v]) => {
    s = Number.isNaN(s) ? v : s + a * (v - s);
    return [x, s];
  });
}
