/**
 * The pure parts of the training benchmark (bench/bench_train.ts): what the CLI offers (parsed
 * from its help), measurements that may have timed out, the order of the onnxruntime levels, and
 * the cells of the start-up table.
 */
import { ms } from "./table.ts";

/** A measured duration, or why there is none. */
export type Measured =
  | { status: "ok"; ms: number }
  | { status: "timed out"; limitMs: number }
  | { status: "failed"; error: string }
  | { status: "skipped"; reason: string };

/** A table cell: milliseconds, seconds above 10 s, or what happened instead. */
export function cell(m: Measured | undefined): string {
  if (!m) return "-";
  switch (m.status) {
    case "ok":
      return m.ms >= 10_000 ? `${(m.ms / 1000).toFixed(1)} s` : ms(m.ms);
    case "timed out":
      return `timed out (>${Math.round(m.limitMs / 1000)} s)`;
    case "failed":
      return "failed";
    case "skipped":
      return "skipped";
  }
}

/** a / b as "1.23x", or "-" when either is missing. */
export function ratioCell(a: Measured | undefined, b: Measured | undefined): string {
  if (a?.status !== "ok" || b?.status !== "ok" || b.ms <= 0) return "-";
  return `${(a.ms / b.ms).toFixed(2)}x`;
}

/**
 * The options a `dlm <command> --help` text lists: the names after `--` at the start of its
 * option lines (`  --name ARG  help` or `  -o, --name ARG  help`).
 *
 * @example
 * ```ts
 * parseHelpOptions("options:\n  --epochs E   passes\n  -h, --help   show this help");
 * // Set { "epochs", "help" }
 * ```
 */
export function parseHelpOptions(help: string): Set<string> {
  const out = new Set<string>();
  for (const line of help.split("\n")) {
    const m = /^\s+(?:-[A-Za-z0-9], )?--([A-Za-z0-9][A-Za-z0-9-]*)/.exec(line);
    if (m) out.add(m[1]);
  }
  return out;
}

/** What the benchmark adapts to: features of the dlm CLI it runs. */
export interface CliFeatures {
  /** `dlm train` and `dlm run` take `--no-cache`: an optimised-model cache exists. */
  cache: boolean;
  /** Environment variables the help texts name for the cache (DLM_*CACHE*), to isolate a cold run. */
  cacheEnv: string[];
  /** An option of `dlm train` that sets onnxruntime's optimisation level, if any. */
  levelOption?: string;
}

/** Read the CLI's features from `dlm train --help` and `dlm run --help`. */
export function cliFeatures(trainHelp: string, runHelp: string): CliFeatures {
  const train = parseHelpOptions(trainHelp), run = parseHelpOptions(runHelp);
  const cacheEnv = [
    ...new Set(
      [...(trainHelp + "\n" + runHelp).matchAll(/\bDLM_[A-Z0-9_]*CACHE[A-Z0-9_]*\b/g)].map((m) =>
        m[0]
      ),
    ),
  ];
  const levelOption = [...train].find((o) =>
    /(^|-)(opt-?level|optimi[sz]ation(-level)?|graph-opt.*|ort-level|level)$/.test(o)
  );
  return { cache: train.has("no-cache") && run.has("no-cache"), cacheEnv, levelOption };
}

/**
 * Whether to measure the next onnxruntime level, given the results of the lower ones in order
 * (disabled, basic, extended, all): a level that timed out makes every higher one skipped, as
 * each optimises at least as much (MobileNetV2's step: 18 s, 111 s and 716 s for disabled, basic
 * and all).
 */
export function nextLevelPlan(before: readonly Measured[]): "measure" | { skip: string } {
  const i = before.findIndex((m) => m.status === "timed out");
  return i < 0 ? "measure" : { skip: `a lower level timed out` };
}

/** Whether another round of a timing kind is worth running: not after one timed out. */
export function worthAnotherRound(results: readonly Measured[]): boolean {
  return !results.some((m) => m.status === "timed out");
}
