/**
 * `dlm sweep`: a family of configurations of one .dlm file's train section, the cartesian
 * product of the `--set KEY=V1,V2,...` lists, each trained as `dlm train` would train it (in this
 * process) on the same data, split and seed, and the same token budget with `--tokens`. It writes
 * a row per configuration (parameters, tokens, compute, losses, wall time) to sweep.csv, fits
 * L(N) = a·N^-alpha + c over the non-embedding parameter count N (runtime/sweep/fit.ts), marks
 * the compute-optimal frontier when the budgets vary, and draws sweep.svg.
 *
 * With `--metric NAME` each row also gets the run's last value of that metric (validation when
 * there is a split), and sweep.svg plots it against N instead of the loss. With
 * `--reference-model M` the sweep first trains M's section the same way (the full model, for
 * intrinsic dimension) and reports N_F: the fewest trained parameters whose metric reaches
 * `--reach F` (default 0.9) of the reference's (Li et al.'s d_90 when N is a subspace's d).
 *
 * Bad input: a list that does not parse, a key given twice or nothing to sweep is a usage error
 * (DLM0540-DLM0542) before anything runs; a parameter the model lacks is the compiler's DLM0205,
 * found when every configuration is compiled, before any trains. A configuration that fails to
 * compile (its sizes break an assertion) or to train is recorded in sweep.csv with its error and
 * the sweep goes on: the others' results are worth having. The exit code is then 1 (DLM0543).
 */
import {
  diag,
  type Diagnostic,
  DlmError,
  error,
  formatDiagnostic,
  type SourceMap,
  warning,
} from "../../compiler/diagnostics.ts";
import type { Graph } from "../../compiler/ir/graph.ts";
import { numel } from "../../compiler/ir/tensor.ts";
import { type CompiledTrain, compileTrain } from "../../compiler/train/mod.ts";
import { multiStep } from "../../compiler/train/multistep.ts";
import { type Dataset, loadDataset, parseDataSpecs } from "../../runtime/data/mod.ts";
import { checkOutputFile, makeOutputDir, writeFileAtomic } from "../../runtime/fs.ts";
import { memoryBudget } from "../../runtime/memory.ts";
import {
  computeFrontier,
  fewestReaching,
  fitPowerLaw,
  type PowerLawFit,
  reachThreshold,
} from "../../runtime/sweep/fit.ts";
import { metricSvg, sweepSvg } from "../../runtime/sweep/plot.ts";
import { stderrSink, train } from "../../runtime/train/mod.ts";
import { lowerIsBetter } from "../../runtime/train/history.ts";
import { kmeansStage } from "../../runtime/train/stages.ts";
import { dimsOf, setValue } from "../args.ts";
import { backendOf, type Io, type Parsed, UsageError } from "../command.ts";
import { groupDigits, warn } from "../report.ts";
import { sessionArgsOf } from "../sessions.ts";

type Value = number | boolean | string;

/** The files `dlm sweep -o DIR` writes. */
export const SWEEP_FILES = ["sweep.csv", "sweep.svg", "fit.json"] as const;

/**
 * The `--set` options: each `KEY=V1,V2,...`; a key with one value is fixed for every
 * configuration, a key with several is swept. Usage errors for a list that does not parse
 * (DLM0540) and a key given twice (DLM0541).
 */
export function parseSweepSets(items: readonly string[]): [string, Value[]][] {
  const out: [string, Value[]][] = [];
  for (const item of items) {
    const eq = item.indexOf("=");
    const key = eq > 0 ? item.slice(0, eq).trim() : "";
    const why = (s: string) => new UsageError(...diag("DLM0540", item, s));
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw why("it needs KEY=V1,V2,...");
    const raw = item.slice(eq + 1).split(",").map((s) => s.trim());
    if (raw.some((s) => s === "")) throw why("a value is empty");
    const values = raw.map(setValue);
    const seen = new Set<string>();
    for (const v of values) {
      if (seen.has(String(v))) throw why(`the value ${v} is listed twice`);
      seen.add(String(v));
    }
    if (out.some(([k]) => k === key)) throw new UsageError(...diag("DLM0541", key));
    out.push([key, values]);
  }
  return out;
}

/** The cartesian product of the lists, the first key varying slowest. */
export function configurations(sets: [string, Value[]][]): Record<string, Value>[] {
  let out: Record<string, Value>[] = [{}];
  for (const [k, vs] of sets) out = out.flatMap((c) => vs.map((v) => ({ ...c, [k]: v })));
  return out;
}

/** A token budget list: `--tokens 2e5,1e6`. */
function parseBudgets(s: string): number[] {
  const out = s.split(",").map((x) => Number(x.trim()));
  if (out.some((n) => !Number.isFinite(n) || n < 1) || s.trim() === "") {
    throw new UsageError(
      ...diag("DLM0501", "--tokens", "positive token counts, e.g. 2e5 or 1e5,4e5", `'${s}'`),
    );
  }
  return [...new Set(out.map(Math.floor))].sort((a, b) => a - b);
}

/** Parameter counts of a step graph: all trainable ones, and those outside embedding tables. */
export function parameterCounts(g: Graph): { total: number; nonEmbedding: number } {
  const shapes = new Map<string, number[]>();
  for (const p of g.packs ?? []) for (const m of p.members) shapes.set(m.param, m.shape);
  for (const i of g.inputs) {
    if (i.type.shape.every((d) => typeof d === "number")) {
      shapes.set(i.name, i.type.shape as number[]);
    }
  }
  for (const [k, t] of g.initializers) shapes.set(k, t.shape);
  let total = 0, embedding = 0;
  for (const p of g.params) {
    if (!p.trainable || p.frozen) continue;
    const shape = shapes.get(p.name);
    if (!shape) continue;
    total += numel(shape);
    // Kaplan et al. (2020) count N without the token and position embeddings.
    if (p.layer === "embedding") embedding += numel(shape);
  }
  return { total, nonEmbedding: total - embedding };
}

/** One configuration's row of sweep.csv. */
export interface SweepRow {
  config: Record<string, Value>;
  budget?: number;
  status: "ok" | "failed";
  params?: number;
  nonEmbedding?: number;
  tokens?: number;
  steps?: number;
  compute?: number;
  trainLoss?: number;
  valLoss?: number;
  seconds?: number;
  frontier?: boolean;
  error?: string;
  /** `--metric NAME`'s last value. */
  metric?: number;
}

/** A CSV field: quoted when it holds a comma, a quote or a line break. */
function field(v: unknown): string {
  const s = v === undefined
    ? ""
    : typeof v === "number" && !Number.isInteger(v)
    ? String(+v.toPrecision(8))
    : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** sweep.csv: one row per configuration (and budget). */
export function sweepCsv(keys: string[], rows: SweepRow[], metric?: string): string {
  const head = [
    ...keys,
    "token_budget",
    "status",
    "params",
    "params_non_embedding",
    "tokens",
    "steps",
    "compute_flops",
    "train_loss",
    "val_loss",
    "seconds",
    "frontier",
    ...(metric ? [metric] : []),
    "error",
  ];
  const lines = [head.join(",")];
  for (const r of rows) {
    lines.push(
      [
        ...keys.map((k) => r.config[k]),
        r.budget,
        r.status,
        r.params,
        r.nonEmbedding,
        r.tokens,
        r.steps,
        r.compute,
        r.trainLoss,
        r.valLoss,
        r.seconds === undefined ? undefined : r.seconds.toFixed(2),
        r.frontier === undefined ? undefined : r.frontier ? "yes" : "no",
        ...(metric ? [r.metric] : []),
        r.error,
      ].map(field).join(","),
    );
  }
  return lines.join("\n") + "\n";
}

/** The first error of a failed compile or run, on one line. */
function oneLine(ds: Diagnostic[]): string {
  const d = ds.find((x) => x.severity === "error") ?? ds[0];
  if (!d) return "failed";
  const at = d.span ? ` (${d.span.file}:${d.span.line}:${d.span.col})` : "";
  return `${d.code}: ${d.message}${at}`.replace(/\s*\n\s*/g, " ");
}

const label = (c: Record<string, Value>) =>
  Object.entries(c).map(([k, v]) => `${k}=${v}`).join(" ");

/** Run `dlm sweep`; returns the exit code. */
export async function run(args: Parsed, io: Io): Promise<number> {
  if (args.positional.length !== 1) {
    throw new UsageError(...diag("DLM0505", ".dlm file", args.positional.length));
  }
  const file = args.positional[0];
  if (!file.toLowerCase().endsWith(".dlm")) {
    throw new UsageError(...diag("DLM0501", "dlm sweep", "a .dlm file", `'${file}'`));
  }
  const outDir = args.opts.out as string | undefined;
  if (!outDir) throw new UsageError(...diag("DLM0506", "-o DIR"));
  const sets = parseSweepSets((args.opts.set as string[] | undefined) ?? []);
  const swept = sets.filter(([, vs]) => vs.length > 1).map(([k]) => k);
  if (swept.length === 0) {
    throw new UsageError(...diag("DLM0542", sets.map(([k, v]) => `${k}=${v}`).join(" ") || "none"));
  }
  const fixed = Object.fromEntries(
    sets.filter(([, vs]) => vs.length === 1).map(([k, v]) => [
      k,
      v[0],
    ]),
  );
  const configs = configurations(sets.filter(([, vs]) => vs.length > 1));
  const items = (args.opts.data as string[] | undefined) ?? [];
  if (items.length === 0) throw new UsageError(...diag("DLM0506", "--data NAME=PATH"));
  const tokensOpt = args.opts.tokens as string | undefined;
  if (tokensOpt !== undefined && args.opts.epochs !== undefined) {
    throw new UsageError(
      ...diag("DLM0508", "--epochs", "--tokens", "a budget of tokens sets the number of steps"),
    );
  }
  const budgets = tokensOpt !== undefined ? parseBudgets(tokensOpt) : undefined;
  const sessionArgs = sessionArgsOf(args);
  const backend = backendOf(args, true);
  const budget = memoryBudget(args.opts["memory-budget"] as string | undefined);
  const seed = (args.opts.seed as number | undefined) ?? 0;
  // The outputs can be written: checked before any work, not after an hour of training.
  makeOutputDir(outDir, "-o");
  const [csvPath, svgPath, jsonPath] = SWEEP_FILES.map((f) => `${outDir}/${f}`);
  for (const f of [csvPath, svgPath, jsonPath]) checkOutputFile(f);
  const specs = parseDataSpecs(items);
  const data = loadDataset(specs, { tokenizer: args.opts.tokenizer as string | undefined });
  // Tokens in a sample: the window of the text data; other data counts samples.
  const perSample = specs.find((s) => s.text)?.text?.window ?? 1;
  const dataShapes = Object.fromEntries(
    Object.entries(data.arrays).map(([k, t]) => [k, t.shape]),
  );

  // Every configuration compiled before any trains: a parameter the model lacks (DLM0205) stops
  // the sweep now; a configuration that does not compile is recorded and the others run.
  const valOpt = args.opts["val-split"] as number | undefined;
  const compiled: { config: Record<string, Value>; c?: CompiledTrain; error?: string }[] = [];
  let sources: SourceMap | undefined;
  for (const config of configs) {
    const c = compileTrain(file, {
      model: args.opts.model as string | undefined,
      seed,
      overrides: { ...fixed, ...config },
      dims: dimsOf(args),
      pack: true,
      dataShapes,
      evaluation: (s) => (valOpt ?? s.valSplit ?? 0) > 0,
    });
    sources ??= c.sources;
    const errors = c.diagnostics.filter((d) => d.severity === "error");
    // A parameter the model lacks, or a file that cannot be read, fails every configuration.
    if (errors.some((d) => d.code === "DLM0205" || d.code === "DLM0401")) {
      throw new DlmError(errors, c.sources);
    }
    if (!c.step || errors.length) {
      for (const d of errors) io.err(formatDiagnostic(d, c.sources));
      compiled.push({ config, error: oneLine(errors) });
    } else {
      if (compiled.every((x) => !x.c)) warn({ warnings: c.diagnostics, sources: c.sources }, io);
      compiled.push({ config, c });
    }
  }
  const first = compiled.find((x) => x.c)?.c;
  const settings = first?.settings ?? { metrics: [] };
  const metric = args.opts.metric as string | undefined;
  const refModel = args.opts["reference-model"] as string | undefined;
  const reachOpt = args.opts.reach as number | undefined;
  if (!metric && (refModel !== undefined || reachOpt !== undefined)) {
    throw new UsageError(
      ...diag("DLM0727", refModel !== undefined ? "--reference-model" : "--reach"),
    );
  }
  const reach = reachOpt ?? 0.9;
  const modeOpt = args.opts.mode as string | undefined;
  if (modeOpt !== undefined && modeOpt !== "max" && modeOpt !== "min") {
    throw new UsageError(...diag("DLM0515", "--mode", "'max' or 'min'", `'${modeOpt}'`));
  }
  if (!metric && modeOpt !== undefined) {
    throw new UsageError(...diag("DLM0507", "--mode", "--metric NAME"));
  }
  const lower = modeOpt ? modeOpt === "min" : lowerIsBetter(metric ?? "");
  const checkMetric = (c: CompiledTrain, model: string) => {
    const have = c.settings?.metrics ?? [];
    if (metric && !have.includes(metric)) {
      throw new DlmError([
        error(
          ...diag(
            "DLM0726",
            metric,
            model,
            have.length ? have.map((m) => `'${m}'`).join(", ") : "none (only its loss)",
          ),
        ),
      ]);
    }
  };
  if (first) checkMetric(first, (args.opts.model as string | undefined) ?? "the file's model");
  // The reference (the full model): compiled now, so that a mistake stops the sweep before it runs.
  let reference: CompiledTrain | undefined;
  if (refModel !== undefined) {
    reference = compileTrain(file, {
      model: refModel,
      seed,
      overrides: fixed,
      dims: dimsOf(args),
      pack: true,
      dataShapes,
      evaluation: (s) => (valOpt ?? s.valSplit ?? 0) > 0,
    });
    if (!reference.step || reference.diagnostics.some((d) => d.severity === "error")) {
      throw new DlmError(
        reference.diagnostics.filter((d) => d.severity === "error"),
        reference.sources,
      );
    }
    checkMetric(reference, refModel);
  }
  const batchSize = (args.opts["batch-size"] as number | undefined) ?? settings.batchSize ?? 32;
  const frac = valOpt ?? settings.valSplit ?? 0;
  // One split for every configuration.
  let trainSet: Dataset = data, val: Dataset | undefined;
  if (frac > 0) ({ train: trainSet, val } = data.split(frac, { seed }));
  // The section's drop_last, as dlm train reads it: an epoch is its full batches.
  const dropLast = settings.dropLast ?? false;
  const perEpoch = trainSet.batchCount(batchSize, dropLast);
  const perStep = batchSize * perSample;
  // The plan of each budget: epochs and a step limit.
  const plans = (budgets ?? [undefined]).map((b) => {
    if (b === undefined) {
      const epochs = (args.opts.epochs as number | undefined) ?? settings.epochs ?? 1;
      return { budget: b, epochs, steps: epochs * perEpoch };
    }
    const steps = Math.floor(b / perStep);
    if (steps < 1) {
      throw new UsageError(
        ...diag(
          "DLM0501",
          "--tokens",
          `at least one step's tokens (${batchSize} samples of ${perSample} = ${perStep})`,
          `${b}`,
        ),
      );
    }
    return { budget: b, epochs: Math.ceil(steps / perEpoch), steps };
  });
  // Samples a run of `steps` steps reads: whole epochs, then full batches of the cut one.
  const epochSamples = dropLast ? perEpoch * batchSize : trainSet.size;
  const samplesOf = (steps: number) =>
    Math.floor(steps / perEpoch) * epochSamples + (steps % perEpoch) * batchSize;
  const perRun = (args.opts["steps-per-run"] as number | undefined) ?? 8;

  const metricOf = (h: { values: Record<string, number> }[]) =>
    metric ? h.at(-1)?.values[val ? `val_${metric}` : metric] : undefined;
  const runOne = (c: CompiledTrain, plan: (typeof plans)[number]) =>
    train({
      step: perRun > 1 ? multiStep(c.step!) : c.step!,
      eval: c.eval,
      data: trainSet,
      val,
      epochs: plan.epochs,
      maxSteps: plan.budget !== undefined ? plan.steps : undefined,
      batchSize,
      dropLast,
      seed,
      backend,
      stepsPerRun: perRun,
      sessions: { ...sessionArgs, warn: io.err },
      // A progress line while a run trains, at a terminal; the sweep's own lines otherwise.
      progress: Deno.stderr.isTerminal() ? stderrSink() : undefined,
      memoryBudget: budget,
      // Data the section's stages compute between epochs (deep clustering's clusters), afresh.
      stages: (c.stages ?? []).map((st) => kmeansStage(st, backend, seed, c.sources)),
    });
  const metricName = metric ? (val ? `val_${metric}` : metric) : undefined;
  let referenceValue: number | undefined;
  if (reference) {
    const plan = plans.at(-1)!;
    io.err(
      `[reference] ${refModel}: ${
        groupDigits(parameterCounts(reference.step!).total)
      } parameters, ${plan.steps} steps`,
    );
    const t0 = performance.now();
    const r = await runOne(reference, plan);
    referenceValue = metricOf(r.history);
    io.err(
      `[reference] ${refModel}: ${metricName} ${referenceValue?.toFixed(4)} (${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s)`,
    );
  }

  const rows: SweepRow[] = [];
  const total = compiled.length * plans.length;
  let k = 0;
  for (const plan of plans) {
    for (const { config, c, error } of compiled) {
      k++;
      const name = label(config) + (plan.budget !== undefined ? ` tokens=${plan.budget}` : "");
      if (!c) {
        rows.push({ config, budget: plan.budget, status: "failed", error });
        io.err(`[${k}/${total}] ${name}: failed to compile`);
        continue;
      }
      const counts = parameterCounts(c.step!);
      io.err(
        `[${k}/${total}] ${name}: ${groupDigits(counts.nonEmbedding)} non-embedding parameters (${
          groupDigits(counts.total)
        } in all), ${plan.steps} steps`,
      );
      const t0 = performance.now();
      try {
        const r = await runOne(c, plan);
        const seconds = (performance.now() - t0) / 1000;
        const steps = r.losses.length;
        // The training loss at the end: the mean of the last tenth of the steps' losses.
        const tail = r.losses.slice(-Math.max(1, Math.round(steps / 10)));
        const tokens = samplesOf(steps) * perSample;
        const row: SweepRow = {
          config,
          budget: plan.budget,
          status: "ok",
          params: counts.total,
          nonEmbedding: counts.nonEmbedding,
          tokens,
          steps,
          // C ≈ 6·N·D: 2N multiply-adds a token forward, twice that backward (Kaplan et al.).
          compute: 6 * counts.nonEmbedding * tokens,
          trainLoss: tail.reduce((s, x) => s + x, 0) / tail.length,
          valLoss: r.history.at(-1)?.values.val_loss,
          seconds,
          metric: metricOf(r.history),
        };
        rows.push(row);
        io.err(
          `[${k}/${total}] ${name}: train_loss ${row.trainLoss!.toFixed(4)}` +
            (row.valLoss !== undefined ? `, val_loss ${row.valLoss.toFixed(4)}` : "") +
            (row.metric !== undefined ? `, ${metricName} ${row.metric.toFixed(4)}` : "") +
            ` (${seconds.toFixed(1)} s)`,
        );
      } catch (e) {
        if (!(e instanceof DlmError)) throw e;
        for (const d of e.diagnostics) io.err(formatDiagnostic(d, e.sources ?? sources));
        rows.push({
          config,
          budget: plan.budget,
          status: "failed",
          params: counts.total,
          nonEmbedding: counts.nonEmbedding,
          seconds: (performance.now() - t0) / 1000,
          error: oneLine(e.diagnostics),
        });
      }
    }
  }

  // The loss the fit reads: validation loss when there is a validation split.
  const lossName = val ? "val_loss" : "train_loss";
  const lossOf = (r: SweepRow) => (val ? r.valLoss : r.trainLoss) ?? NaN;
  const done = rows.filter((r) => r.status === "ok" && Number.isFinite(lossOf(r)));
  // L(N) over the largest budget's runs (the longest-trained); the frontier over all of them.
  const top = budgets?.at(-1);
  const fitted = done.filter((r) => r.budget === top);
  const fit = fitPowerLaw(fitted.map((r) => ({ x: r.nonEmbedding!, y: lossOf(r) })));
  let frontier: SweepRow[] = [];
  let computeFit: PowerLawFit | undefined;
  if (budgets && budgets.length > 1) {
    frontier = computeFrontier(done.map((r) => ({ row: r, compute: r.compute!, loss: lossOf(r) })))
      .map((p) => p.row);
    for (const r of done) r.frontier = frontier.includes(r);
    computeFit = fitPowerLaw(frontier.map((r) => ({ x: r.compute!, y: lossOf(r) })));
  }
  const keys = [...Object.keys(fixed), ...swept];
  const group = (r: SweepRow) =>
    r.budget !== undefined ? `${groupDigits(r.budget)} tokens` : "all runs";
  const svg = sweepSvg({
    title: `${file.split("/").at(-1)}: ${lossName} against N${
      fit ? ` (alpha ${fit.alpha.toFixed(3)})` : ""
    }`,
    points: done.map((r) => ({
      n: r.nonEmbedding!,
      compute: r.compute!,
      loss: lossOf(r),
      group: group(r),
    })),
    nLabel: "non-embedding parameters N",
    lossLabel: lossName,
    fit,
    frontier: frontier.map((r) => ({
      n: r.nonEmbedding!,
      compute: r.compute!,
      loss: lossOf(r),
      group: group(r),
    })),
  });
  // --metric: the metric against N; with a reference, the fewest parameters reaching its share.
  const threshold = referenceValue === undefined
    ? undefined
    : reachThreshold(referenceValue, reach, lower);
  const measured = rows.filter((r) => r.status === "ok" && Number.isFinite(r.metric))
    .sort((a, b) => a.nonEmbedding! - b.nonEmbedding!);
  const reached = threshold !== undefined
    ? fewestReaching(
      measured.map((r) => ({ n: r.nonEmbedding!, value: r.metric!, row: r })),
      threshold,
      lower,
    )?.row
    : undefined;
  const reachName = `N_${+(reach * 100).toPrecision(3)}`;
  const metricSummary = metricName
    ? {
      name: metricName,
      reference_model: refModel ?? null,
      reference: referenceValue ?? null,
      reach: refModel !== undefined ? reach : null,
      mode: lower ? "min" : "max",
      threshold: threshold ?? null,
      [reachName]: reached?.nonEmbedding ?? null,
      points: measured.map((r) => ({ ...r.config, n: r.nonEmbedding, value: r.metric })),
    }
    : null;
  const plotted = metricName
    ? metricSvg({
      title: `${file.split("/").at(-1)}: ${metricName} against trained parameters N`,
      points: measured.map((r) => ({ n: r.nonEmbedding!, value: r.metric! })),
      nLabel: "trained parameters N",
      valueLabel: metricName,
      reference: referenceValue !== undefined
        ? { value: referenceValue, label: `${refModel} (all parameters)` }
        : undefined,
      threshold: threshold !== undefined
        ? { value: threshold, label: `${+(reach * 100).toPrecision(3)}% of it` }
        : undefined,
      reached: reached
        ? { n: reached.nonEmbedding!, label: `${reachName} = ${reached.nonEmbedding}` }
        : undefined,
    })
    : svg;
  const summary = {
    file,
    metric: metricSummary,
    loss: lossName,
    parameters: "non-embedding",
    fit: fit ? { ...fit, points: fitted.length, token_budget: top ?? null } : null,
    compute_fit: computeFit ?? null,
    frontier: frontier.map((r) => ({ ...r.config, token_budget: r.budget, compute: r.compute })),
    configurations: rows.length,
    failed: rows.filter((r) => r.status === "failed").length,
  };
  writeFileAtomic(
    csvPath,
    sweepCsv(keys, rows.map((r) => ({ ...r, config: { ...fixed, ...r.config } })), metricName),
  );
  writeFileAtomic(svgPath, plotted);
  writeFileAtomic(jsonPath, JSON.stringify(summary, null, 2) + "\n");
  if (fit) {
    io.out(
      `L(N) = ${fit.a.toPrecision(4)} * N^-${fit.alpha.toFixed(4)} + ${fit.c.toPrecision(4)}` +
        ` (${lossName}, N non-embedding parameters, ${fit.n} runs, R^2 ${fit.r2.toFixed(4)}${
          fit.kind === "pure"
            ? ", c held at 0: fewer than three sizes"
            : fit.c < 1e-6
            ? ", c at its bound 0: the runs show no irreducible loss yet"
            : ""
        })`,
    );
  } else {
    io.err(
      formatDiagnostic(
        warning(...diag("DLM0544", `${fitted.length} run${fitted.length === 1 ? "" : "s"}`)),
      ),
    );
  }
  if (computeFit) {
    io.out(
      `L(C) = ${computeFit.a.toPrecision(4)} * C^-${computeFit.alpha.toFixed(4)} + ${
        computeFit.c.toPrecision(4)
      } on the compute frontier (${frontier.length} runs)`,
    );
  }
  if (threshold !== undefined) {
    const share = lower
      ? `${referenceValue!.toFixed(4)} / ${reach}`
      : `${reach} x ${referenceValue!.toFixed(4)}`;
    const best = (lower ? Math.min : Math.max)(...measured.map((r) => r.metric!));
    io.out(
      reached
        ? `${reachName} = ${reached.nonEmbedding}: the fewest trained parameters whose ${metricName} (${
          reached.metric!.toFixed(4)
        }) reaches ${share} (${refModel}'s) = ${threshold.toFixed(4)}`
        : `${reachName}: no configuration reaches ${share} (${refModel}'s ${metricName}) = ${
          threshold.toFixed(4)
        }; the best is ${best.toFixed(4)}`,
    );
  }
  for (const f of [csvPath, svgPath, jsonPath]) io.err(`wrote ${f}`);
  const failed = rows.filter((r) => r.status === "failed").length;
  if (failed) {
    io.err(formatDiagnostic(error(...diag("DLM0543", failed, rows.length, csvPath))));
    return 1;
  }
  return 0;
}
