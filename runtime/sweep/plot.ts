/**
 * The log-log plot of a sweep, as a small standalone SVG: loss against parameters with the
 * fitted power law and, when the token budgets vary, loss against training compute with the
 * compute-optimal frontier.
 */
import { powerLaw, type PowerLawFit } from "./fit.ts";

/** One configuration's result, as the plot needs it. */
export interface PlotPoint {
  /** Parameters (the fitted count). */
  n: number;
  /** Training compute, FLOPs. */
  compute: number;
  loss: number;
  /** The series it belongs to (its token budget), for colour and legend. */
  group: string;
}

/** What the plot shows. */
export interface SweepPlot {
  title: string;
  points: PlotPoint[];
  /** What n counts, for the axis: "non-embedding parameters". */
  nLabel: string;
  /** Which loss: "validation loss". */
  lossLabel: string;
  fit?: PowerLawFit;
  /** The compute panel's frontier (drawn when the points have more than one group). */
  frontier?: PlotPoint[];
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** A tick label: 2k, 1.5M, 0.5, 3.2. */
export function tickLabel(v: number): string {
  const units: [number, string][] = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [u, s] of units) if (Math.abs(v) >= u) return `${+(v / u).toPrecision(3)}${s}`;
  return String(+v.toPrecision(3));
}

/** Mantissas of tick candidates, coarse to fine: decades, 1-2-5, digits, halves, tenths. */
const MANTISSAS = [
  [1],
  [1, 2, 5],
  [1, 2, 3, 4, 5, 6, 7, 8, 9],
  Array.from({ length: 18 }, (_, i) => 1 + i / 2),
  Array.from({ length: 90 }, (_, i) => 1 + i / 10),
];

/**
 * Ticks of a log axis over [lo, hi]: powers of ten, else 1-2-5 steps, else every digit, else
 * halves, else tenths of a digit, whichever first gives at least two in range; else the ends.
 */
export function logTicks(lo: number, hi: number): number[] {
  for (const ms of MANTISSAS) {
    const out: number[] = [];
    for (let k = Math.floor(Math.log10(lo)) - 1; k <= Math.ceil(Math.log10(hi)); k++) {
      for (const m of ms) {
        const v = +(m * Math.pow(10, k)).toPrecision(6);
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
      }
    }
    if (out.length >= 2) return out;
  }
  return [lo, hi];
}

/** The SVG of a sweep: one panel (loss against n), two when the points have several groups. */
export function sweepSvg(p: SweepPlot): string {
  const groups = [...new Set(p.points.map((q) => q.group))];
  const twoPanels = groups.length > 1;
  const W = 580, PH = 240, M = { l: 60, r: 190, t: 30, b: 44 };
  const H = M.t + (twoPanels ? 2 : 1) * (PH + M.b) + 8;
  const pw = W - M.l - M.r;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="17" text-anchor="middle" font-size="13">${esc(p.title)}</text>`,
  ];
  const color = (g: string) => COLORS[groups.indexOf(g) % COLORS.length];
  const panel = (
    top: number,
    xOf: (q: PlotPoint) => number,
    xLabel: string,
    curve: [number, number][] | undefined,
    curveLabel: string | undefined,
  ) => {
    const xs = p.points.map(xOf).filter((v) => v > 0);
    const ys = p.points.map((q) => q.loss).filter((v) => v > 0);
    for (const [x, y] of curve ?? []) if (x > 0 && y > 0) ys.push(y);
    if (!xs.length || !ys.length) return;
    // A margin of 8% of the log range (or a factor 1.2 for a single value) on each side.
    const span = (vs: number[]) => {
      const [a, b] = [Math.log(Math.min(...vs)), Math.log(Math.max(...vs))];
      const m = b > a ? (b - a) * 0.08 : Math.log(1.2);
      return [Math.exp(a - m), Math.exp(b + m)];
    };
    const [x0, x1] = span(xs), [y0, y1] = span(ys);
    const sx = (v: number) => M.l + (Math.log(v / x0) / Math.log(x1 / x0)) * pw;
    const sy = (v: number) => top + PH - (Math.log(v / y0) / Math.log(y1 / y0)) * PH;
    drawAxes(out, {
      left: M.l,
      top,
      width: pw,
      height: PH,
      sx,
      sy,
      xTicks: logTicks(x0, x1),
      yTicks: logTicks(y0, y1),
      xLabel: `${xLabel} (log)`,
      yLabel: `${p.lossLabel} (log)`,
    });
    if (curve && curve.length > 1) {
      const pts = curve.filter(([x, y]) => x > 0 && y > 0)
        .map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
      out.push(`<polyline fill="none" stroke="#444" stroke-width="1.5" points="${pts}"/>`);
    }
    for (const q of p.points) {
      if (!(xOf(q) > 0 && q.loss > 0)) continue;
      out.push(
        `<circle cx="${sx(xOf(q)).toFixed(1)}" cy="${sy(q.loss).toFixed(1)}" r="3.5" fill="${
          color(q.group)
        }"/>`,
      );
    }
    // Legend: the groups, then the curve.
    const lx = M.l + pw + 10;
    groups.forEach((g, k) => {
      const ly = top + 12 + k * 15;
      out.push(
        `<circle cx="${lx + 5}" cy="${ly - 4}" r="3.5" fill="${color(g)}"/>`,
        `<text x="${lx + 14}" y="${ly}">${esc(g)}</text>`,
      );
    });
    if (curveLabel) {
      const ly = top + 12 + groups.length * 15;
      out.push(
        `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 10}" y2="${
          ly - 4
        }" stroke="#444" stroke-width="1.5"/>`,
        `<text x="${lx + 14}" y="${ly}">${esc(curveLabel)}</text>`,
      );
    }
  };
  let curve: [number, number][] | undefined;
  const f = p.fit;
  if (f) {
    const ns = p.points.map((q) => q.n).filter((v) => v > 0);
    const [lo, hi] = [Math.min(...ns), Math.max(...ns)];
    curve = Array.from({ length: 41 }, (_, i) => {
      const x = lo * Math.pow(hi / lo, i / 40);
      return [x, powerLaw(f, x)];
    });
  }
  const fitLabel = f
    ? `${+f.a.toPrecision(3)}·N^-${+f.alpha.toPrecision(3)}${
      f.c > 1e-6 ? ` + ${+f.c.toPrecision(3)}` : ""
    }`
    : undefined;
  panel(M.t, (q) => q.n, p.nLabel, curve, fitLabel);
  if (twoPanels) {
    const front = (p.frontier ?? []).map((q): [number, number] => [q.compute, q.loss]);
    panel(
      M.t + PH + M.b,
      (q) => q.compute,
      "training compute, FLOPs",
      front.length > 1 ? front : undefined,
      front.length > 1 ? "compute frontier" : undefined,
    );
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** A metric against parameters (`dlm sweep --metric`): what the plot shows. */
export interface MetricPlot {
  title: string;
  points: { n: number; value: number }[];
  nLabel: string;
  valueLabel: string;
  /** The reference run's value (the full model), a grey line. */
  reference?: { value: number; label: string };
  /** The share of it to reach, a red dashed line. */
  threshold?: { value: number; label: string };
  /** The fewest parameters that reach it, a vertical line. */
  reached?: { n: number; label: string };
}

/** Ticks of a linear axis over [lo, hi]: steps of 1, 2 or 5 times a power of ten, 4 to 10 of them. */
export function linearTicks(lo: number, hi: number): number[] {
  const range = hi - lo || Math.abs(hi) || 1;
  const base = Math.pow(10, Math.floor(Math.log10(range / 4)));
  for (const m of [1, 2, 5, 10]) {
    const step = base * m;
    const out: number[] = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      out.push(+v.toPrecision(6));
    }
    if (out.length <= 10) return out;
  }
  return [lo, hi];
}

/**
 * The metric of each run against its parameter count N (log x, linear y), joined in order of N,
 * with the reference's value, the threshold and the N that first reaches it.
 */
export function metricSvg(p: MetricPlot): string {
  const W = 580, PH = 260, M = { l: 60, r: 190, t: 30, b: 44 };
  const H = M.t + PH + M.b + 8;
  const pw = W - M.l - M.r;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="17" text-anchor="middle" font-size="13">${esc(p.title)}</text>`,
  ];
  const pts = p.points.filter((q) => q.n > 0 && Number.isFinite(q.value))
    .sort((a, b) => a.n - b.n);
  if (pts.length) {
    const xs = pts.map((q) => q.n);
    const ys = pts.map((q) => q.value);
    if (p.reference) ys.push(p.reference.value);
    if (p.threshold) ys.push(p.threshold.value);
    const [a, b] = [Math.log(Math.min(...xs)), Math.log(Math.max(...xs))];
    const mx = b > a ? (b - a) * 0.08 : Math.log(1.2);
    const x0 = Math.exp(a - mx), x1 = Math.exp(b + mx);
    const [ylo, yhi] = [Math.min(...ys), Math.max(...ys)];
    const my = yhi > ylo ? (yhi - ylo) * 0.08 : Math.abs(yhi) * 0.1 || 1;
    const y0 = ylo - my, y1 = yhi + my;
    const sx = (v: number) => M.l + (Math.log(v / x0) / Math.log(x1 / x0)) * pw;
    const sy = (v: number) => M.t + PH - ((v - y0) / (y1 - y0)) * PH;
    drawAxes(out, {
      left: M.l,
      top: M.t,
      width: pw,
      height: PH,
      sx,
      sy,
      xTicks: logTicks(x0, x1),
      yTicks: linearTicks(y0, y1),
      xLabel: `${p.nLabel} (log)`,
      yLabel: p.valueLabel,
    });
    const legend: string[] = [];
    const lx = M.l + pw + 10;
    const hline = (v: number, color: string, dash: string, label: string) => {
      const y = sy(v).toFixed(1);
      out.push(
        `<line x1="${M.l}" y1="${y}" x2="${
          M.l + pw
        }" y2="${y}" stroke="${color}" stroke-dasharray="${dash}"/>`,
      );
      const ly = M.t + 12 + legend.length * 15;
      legend.push(
        `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 10}" y2="${
          ly - 4
        }" stroke="${color}" stroke-dasharray="${dash}"/>`,
        `<text x="${lx + 14}" y="${ly}">${esc(`${label}: ${+v.toPrecision(4)}`)}</text>`,
      );
    };
    if (p.reference) hline(p.reference.value, "#888", "2 2", p.reference.label);
    if (p.threshold) hline(p.threshold.value, "#d62728", "5 3", p.threshold.label);
    if (p.reached) {
      const x = sx(p.reached.n).toFixed(1);
      out.push(
        `<line x1="${x}" y1="${M.t}" x2="${x}" y2="${M.t + PH}" stroke="#2ca02c"/>`,
        `<text x="${(+x + 4).toFixed(1)}" y="${M.t + 14}" fill="#2ca02c">${
          esc(p.reached.label)
        }</text>`,
      );
    }
    const line = pts.map((q) => `${sx(q.n).toFixed(1)},${sy(q.value).toFixed(1)}`).join(" ");
    out.push(`<polyline fill="none" stroke="${COLORS[0]}" stroke-width="1.5" points="${line}"/>`);
    for (const q of pts) {
      out.push(
        `<circle cx="${sx(q.n).toFixed(1)}" cy="${sy(q.value).toFixed(1)}" r="3.5" fill="${
          COLORS[0]
        }"/>`,
      );
    }
    out.push(...legend);
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/**
 * A panel's frame, its ticks and their labels, and the axis titles, for a plot area of
 * `width` x `height` at (left, top) with the scales sx and sy.
 */
function drawAxes(
  out: string[],
  a: {
    left: number;
    top: number;
    width: number;
    height: number;
    sx: (v: number) => number;
    sy: (v: number) => number;
    xTicks: number[];
    yTicks: number[];
    xLabel: string;
    yLabel: string;
  },
): void {
  const { left, top, width, height: PH } = a;
  out.push(
    `<rect x="${left}" y="${top}" width="${width}" height="${PH}" fill="none" stroke="#999"/>`,
  );
  for (const t of a.xTicks) {
    const x = a.sx(t).toFixed(1);
    out.push(
      `<line x1="${x}" y1="${top + PH}" x2="${x}" y2="${top + PH + 4}" stroke="#999"/>`,
      `<text x="${x}" y="${top + PH + 15}" text-anchor="middle">${tickLabel(t)}</text>`,
    );
  }
  for (const t of a.yTicks) {
    const y = a.sy(t).toFixed(1);
    out.push(
      `<line x1="${left - 4}" y1="${y}" x2="${left}" y2="${y}" stroke="#999"/>`,
      `<text x="${left - 6}" y="${(+y + 4).toFixed(1)}" text-anchor="end">${tickLabel(t)}</text>`,
    );
  }
  out.push(
    `<text x="${left + width / 2}" y="${top + PH + 32}" text-anchor="middle">${
      esc(a.xLabel)
    }</text>`,
    `<text transform="translate(14 ${top + PH / 2}) rotate(-90)" text-anchor="middle">${
      esc(a.yLabel)
    }</text>`,
  );
}
