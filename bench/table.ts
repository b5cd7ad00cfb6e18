/** Plain-text tables for the benchmark report. */

/** A column: its header and whether its cells are right-aligned (numbers). */
export interface Column {
  header: string;
  right?: boolean;
}

/**
 * Lay out rows under headers, columns padded to their widest cell and
 * separated by two spaces, with a dashed rule under the header.
 *
 * @example
 * ```ts
 * formatTable([{ header: "model" }, { header: "ms", right: true }], [["lenet5", "1.2"]]);
 * // model   ms
 * // ------  ---
 * // lenet5  1.2
 * ```
 */
export function formatTable(columns: readonly Column[], rows: readonly string[][]): string {
  const widths = columns.map((c, i) =>
    Math.max(c.header.length, ...rows.map((r) => (r[i] ?? "").length))
  );
  const line = (cells: readonly string[]) =>
    columns
      .map((
        c,
        i,
      ) => (c.right ? (cells[i] ?? "").padStart(widths[i]) : (cells[i] ?? "").padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [
    line(columns.map((c) => c.header)),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ]
    .join("\n");
}

/**
 * Milliseconds with three significant figures, at most two decimals
 * (`0.0123` -> "0.01", `12.34` -> "12.3", `1234.5` -> "1235").
 */
export function ms(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const digits = x >= 100 ? 0 : x >= 10 ? 1 : 2;
  return x.toFixed(digits);
}

/** An integer with thousands separators: 25557032 -> "25,557,032". */
export function count(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Bytes as B, KiB, MiB or GiB with one decimal: 102151313 -> "97.4 MiB". */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) [n, u] = [n / 1024, u + 1];
  return u === 0 ? `${n} B` : `${n.toFixed(1)} ${units[u]}`;
}
