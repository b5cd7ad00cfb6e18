/**
 * How a command's diagnostics and failures reach the user: diagnostics sorted
 * and formatted, an error count, and the exit code. Loaded with a command's
 * implementation (it needs the compiler's diagnostics), never for help.
 */
import {
  type Diagnostic,
  DlmError,
  formatDiagnostic,
  isUsageCode,
  sortDiagnostics,
  type SourceMap,
} from "../compiler/diagnostics.ts";
import { EXIT, type Io } from "./command.ts";

/** Every diagnostic of `e`, sorted, then "N errors" when there is more than one. */
export function printDiagnostics(e: DlmError, io: Io, sources?: SourceMap): void {
  const ds = sortDiagnostics(e.diagnostics);
  for (const d of ds) io.err(formatDiagnostic(d, e.sources ?? sources));
  const n = ds.filter((d) => d.severity === "error").length;
  if (n > 1) io.err(`${n} errors`);
}

/**
 * An integer with thousands separators, as `toLocaleString("en-US")` writes
 * it, without that call's first-use cost (~9 ms of CPU and 15-35 ms of wall
 * time to set up the locale data: 5% of compiling ResNet-50).
 *
 * @example
 * ```ts
 * groupDigits(25610205); // "25,610,205"
 * ```
 */
export function groupDigits(n: number): string {
  const s = String(Math.abs(Math.round(n))).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return n < 0 && Math.round(n) !== 0 ? `-${s}` : s;
}

/** Warnings of a build, sorted. */
export function warn(b: { warnings: Diagnostic[]; sources?: SourceMap }, io: Io): void {
  for (const d of sortDiagnostics(b.warnings)) io.err(formatDiagnostic(d, b.sources));
}

/**
 * The exit code of a command that threw (not a usage error): a DlmError's
 * diagnostics are printed (exit 1, or 2 when one is a usage diagnostic); any
 * other exception is our bug, reported as an internal error without a stack
 * trace (set DLM_DEBUG to see it).
 */
export function reportFailure(name: string, e: unknown, io: Io): number {
  if (e instanceof DlmError) {
    printDiagnostics(e, io);
    return e.diagnostics.some((d) => isUsageCode(d.code)) ? EXIT.usage : EXIT.input;
  }
  const msg = e instanceof Error ? e.message : String(e);
  io.err(
    `dlm ${name}: internal error: ${msg}\n` +
      "This is a bug in dlm, not in your input. Please report it with the command line and the files it used.",
  );
  if (Deno.env.get("DLM_DEBUG")) io.err(e instanceof Error ? e.stack ?? "" : "");
  return EXIT.input;
}
