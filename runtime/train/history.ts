/**
 * The training history: one record per epoch, written as CSV and drawn as a
 * small standalone SVG line chart (losses in one panel, other metrics in a
 * second).
 */
import { writeFileAtomic } from "../fs.ts";

/** One epoch: `loss` and train metrics are sample-weighted means over the epoch. */
export interface EpochRecord {
  epoch: number;
  /** Updates done after this epoch. */
  step: number;
  /** Values by column: `loss`, `accuracy`, `val_loss`, `val_accuracy`, ... */
  values: Record<string, number>;
  seconds: number;
}

/** Column names of a history, in a stable order: losses first. */
export function historyColumns(h: EpochRecord[]): string[] {
  const cols = new Set<string>();
  for (const r of h) for (const k of Object.keys(r.values)) cols.add(k);
  const rank = (
    k: string,
  ) => (k === "loss" ? 0 : k === "val_loss" ? 1 : k.startsWith("val_") ? 3 : 2);
  return [...cols].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** The history as CSV: `epoch,step,<columns>,seconds`. */
export function historyCsv(h: EpochRecord[]): string {
  const cols = historyColumns(h);
  const lines = [["epoch", "step", ...cols, "seconds"].join(",")];
  for (const r of h) {
    const vals = cols.map((c) => (c in r.values ? String(r.values[c]) : ""));
    lines.push([r.epoch, r.step, ...vals, r.seconds.toFixed(3)].join(","));
  }
  return lines.join("\n") + "\n";
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A compact number for axis labels. */
function fmt(v: number): string {
  return Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0)
    ? v.toExponential(1)
    : String(+v.toPrecision(3));
}

/**
 * A standalone SVG line chart of the history against the epoch: a panel of
 * the loss columns and, when there are any, a panel of the other metrics.
 */
export function historySvg(h: EpochRecord[], title = "training"): string {
  const cols = historyColumns(h);
  const panels = [cols.filter((c) => c.endsWith("loss")), cols.filter((c) => !c.endsWith("loss"))]
    .filter((p) => p.length);
  const W = 480, PH = 200, M = { l: 56, r: 110, t: 28, b: 30 };
  const H = M.t + panels.length * (PH + M.b) + 8;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="16" text-anchor="middle" font-size="13">${esc(title)}</text>`,
  ];
  const x0 = Math.min(...h.map((r) => r.epoch)), x1 = Math.max(...h.map((r) => r.epoch));
  const pw = W - M.l - M.r;
  let ci = 0;
  panels.forEach((series, p) => {
    const top = M.t + p * (PH + M.b);
    const vals = h.flatMap((r) => series.map((s) => r.values[s]).filter((v) => Number.isFinite(v)));
    let lo = Math.min(...vals), hi = Math.max(...vals);
    if (!(hi > lo)) [lo, hi] = [lo - 0.5, hi + 0.5];
    const sx = (e: number) => M.l + (x1 > x0 ? ((e - x0) / (x1 - x0)) * pw : pw / 2);
    const sy = (v: number) => top + PH - ((v - lo) / (hi - lo)) * PH;
    out.push(
      `<rect x="${M.l}" y="${top}" width="${pw}" height="${PH}" fill="none" stroke="#999"/>`,
    );
    for (const v of [lo, (lo + hi) / 2, hi]) {
      out.push(`<text x="${M.l - 4}" y="${sy(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
    }
    out.push(`<text x="${M.l}" y="${top + PH + 14}" text-anchor="middle">${x0}</text>`);
    if (x1 > x0) {
      out.push(`<text x="${M.l + pw}" y="${top + PH + 14}" text-anchor="middle">${x1}</text>`);
    }
    out.push(`<text x="${M.l + pw / 2}" y="${top + PH + 26}" text-anchor="middle">epoch</text>`);
    series.forEach((s, k) => {
      const color = COLORS[ci++ % COLORS.length];
      const pts = h.filter((r) => Number.isFinite(r.values[s]))
        .map((r) => `${sx(r.epoch).toFixed(1)},${sy(r.values[s]).toFixed(1)}`);
      if (pts.length > 1) {
        out.push(
          `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.join(" ")}"/>`,
        );
      }
      for (const pt of pts) {
        const [x, y] = pt.split(",");
        out.push(`<circle cx="${x}" cy="${y}" r="2" fill="${color}"/>`);
      }
      const ly = top + 12 + k * 14;
      out.push(
        `<line x1="${M.l + pw + 8}" y1="${ly - 4}" x2="${M.l + pw + 22}" y2="${
          ly - 4
        }" stroke="${color}" stroke-width="2"/>`,
      );
      out.push(`<text x="${M.l + pw + 26}" y="${ly}">${esc(s)}</text>`);
    });
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** The files writeHistory writes into its folder. */
export const HISTORY_FILES = ["history.csv", "history.svg"] as const;

/** Write `history.csv` and `history.svg` into `dir` (each atomically); returns their paths. */
export function writeHistory(
  dir: string,
  h: EpochRecord[],
  title?: string,
): { csv: string; svg: string } {
  const [csv, svg] = HISTORY_FILES.map((f) => `${dir}/${f}`);
  writeFileAtomic(csv, historyCsv(h));
  writeFileAtomic(svg, historySvg(h, title));
  return { csv, svg };
}

/**
 * Whether a smaller value of a history value (a metric or a loss) is the better one, when the user
 * did not say: losses, perplexities and errors go down as a model improves, accuracies and scores
 * up. Early stopping and `dlm sweep --metric` read the same rule.
 */
export function lowerIsBetter(name: string): boolean {
  return /(loss|perplexity|ppl|error|mse|mae)$/i.test(name);
}
