/**
 * The pure parts of the training benchmark (bench/bench_train.ts): what the CLI offers (parsed
 * from its help), measurements that may have timed out, the order of the onnxruntime levels, and
 * the cells of the start-up table.
 */
import { OPTIMIZE_LEVELS as LEVELS, type OptimizeLevel as Level } from "../runtime/ort/optimize.ts";
import { median, type Timing } from "./stats.ts";
import { formatTable, ms } from "./table.ts";

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

/** The median of measurements that all succeeded, else the first that did not. */
export function medianMeasured(ms: readonly Measured[]): Measured {
  const bad = ms.find((m) => m.status !== "ok");
  if (bad || ms.length === 0) return bad ?? { status: "skipped", reason: "not measured" };
  return { status: "ok", ms: median(ms.map((m) => (m as { ms: number }).ms)) };
}

/** a[i] / b[i] for each round where both were measured. */
export function roundRatios(a: readonly Measured[], b: readonly Measured[]): number[] {
  const out: number[] = [];
  a.forEach((x, i) => {
    const y = b[i];
    if (x.status === "ok" && y?.status === "ok" && y.ms > 0) out.push(x.ms / y.ms);
  });
  return out;
}

/**
 * The ratio of the medians a / b as "1.23x", with the range of the rounds' own ratios after it
 * when there were two rounds or more: "1.23x (1.10-1.41)".
 */
export function ratioRangeCell(
  a: Measured | undefined,
  b: Measured | undefined,
  rounds: readonly number[] | undefined,
): string {
  const mid = ratioCell(a, b);
  if (mid === "-" || !rounds || rounds.length < 2) return mid;
  return `${mid} (${Math.min(...rounds).toFixed(2)}-${Math.max(...rounds).toFixed(2)})`;
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

/** A level's session creation and step time (one step per run). */
export interface LevelResult {
  create: Measured;
  stepMs?: Timing;
}

export interface ModelReport {
  model: string;
  file: string;
  batch: number;
  nodes: { forward: number; evaluation: number; step: number; stepOverForward: number };
  compileMs: number;
  levels: Partial<Record<Level, LevelResult>>;
  /** dlm's own session (createSession): cold (fresh cache) and warm, when the CLI has a cache. */
  dlmSession?: { cold: Measured; warm: Measured };
  /** Per step as `dlm train` runs it (part 1's median), and PyTorch eager's. */
  stepMs?: number;
  torch: { result: Measured; stepMs?: Timing; forwardMs?: Timing; threads?: number };
  stepOverTorch?: number;
  /**
   * Whole processes: `dlm train` to the end of its first step, `dlm run` of the same model (the
   * medians over rounds), and each round's train/run ratio, cold and warm.
   */
  process: {
    train: Measured;
    run: Measured;
    trainWarm?: Measured;
    runWarm?: Measured;
    ratios?: { cold: number[]; warm: number[] };
  };
}

/** Part 2's two tables: graphs and sessions; steps and whole processes (cache columns when the CLI has a cache). */
export function startupTables(reports: ModelReport[], features: CliFeatures): string {
  const msOf = (x: number | undefined): Measured | undefined =>
    x === undefined ? undefined : { status: "ok", ms: x };
  const graph = formatTable(
    [
      { header: "model" },
      { header: "forward nodes", right: true },
      { header: "step nodes", right: true },
      { header: "step/forward", right: true },
      { header: "compile", right: true },
      ...LEVELS.map((l) => ({ header: `session ${l}`, right: true })),
      ...LEVELS.map((l) => ({ header: `step ${l}`, right: true })),
      ...(features.cache
        ? [{ header: "dlm session cold", right: true }, { header: "warm", right: true }]
        : []),
    ],
    reports.map((r) => [
      r.model,
      String(r.nodes.forward),
      String(r.nodes.step),
      `${r.nodes.stepOverForward.toFixed(1)}x`,
      cell(msOf(r.compileMs)),
      ...LEVELS.map((l) => cell(r.levels[l]?.create)),
      ...LEVELS.map((l) => cell(msOf(r.levels[l]?.stepMs?.median))),
      ...(features.cache ? [cell(r.dlmSession?.cold), cell(r.dlmSession?.warm)] : []),
    ]),
  );
  const run = formatTable(
    [
      { header: "model" },
      { header: "step ms", right: true },
      { header: `PyTorch step ms`, right: true },
      { header: "step/PyTorch", right: true },
      { header: "dlm train to 1st step", right: true },
      { header: "dlm run", right: true },
      { header: "train/run", right: true },
      ...(features.cache
        ? [
          { header: "warm train", right: true },
          { header: "warm run", right: true },
          { header: "warm train/run", right: true },
        ]
        : []),
    ],
    reports.map((r) => [
      r.model,
      cell(msOf(r.stepMs)),
      r.torch.stepMs ? ms(r.torch.stepMs.median) : cell(r.torch.result),
      ratioCell(msOf(r.stepMs), msOf(r.torch.stepMs?.median)),
      cell(r.process.train),
      cell(r.process.run),
      ratioRangeCell(r.process.train, r.process.run, r.process.ratios?.cold),
      ...(features.cache
        ? [
          cell(r.process.trainWarm),
          cell(r.process.runWarm),
          ratioRangeCell(r.process.trainWarm, r.process.runWarm, r.process.ratios?.warm),
        ]
        : []),
    ]),
  );
  return `${graph}\n\n${run}`;
}

/** The last validation accuracy a `dlm train` output prints, as a fraction (percentages divided by 100). */
export function lastValAccuracy(text: string): number | undefined {
  const m = [...text.matchAll(/val_accuracy[^0-9]*([0-9.]+)/g)].at(-1);
  if (!m) return undefined;
  const acc = Number(m[1]);
  return acc > 1 ? acc / 100 : acc;
}
