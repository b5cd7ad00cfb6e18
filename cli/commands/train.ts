/**
 * `dlm train`: run a training-step ONNX model (compiler/train/contract.ts)
 * over data files, with validation, early stopping, checkpoints and curves.
 * Training a .dlm file directly comes with the compiler's `train` sections.
 */
import {
  diag,
  DlmError,
  error,
  formatDiagnostic,
  SourceMap,
  warning,
} from "../../compiler/diagnostics.ts";
import { warn } from "../report.ts";
import type { CompiledStage, TrainSettings } from "../../compiler/train/mod.ts";
import type { Tensor } from "../../compiler/ir/tensor.ts";
import { tapWeights } from "../../compiler/ir/graph.ts";
import { type Dataset, loadDataset, parseDataSpecs } from "../../runtime/data/mod.ts";
import { writeSafetensors } from "../../runtime/formats/mod.ts";
import { writeFileAtomic } from "../../runtime/fs.ts";
import { memoryBudget } from "../../runtime/memory.ts";
import { train } from "../../runtime/train/loop.ts";
import type { ModelSource } from "../../runtime/train/loaded.ts";
import { loadCheckpoint } from "../../runtime/train/checkpoint.ts";
import { stderrSink } from "../../runtime/train/progress.ts";
import {
  type CompiledStep,
  lookupStep,
  recordingReads,
  stepCacheConfig,
  stepKey,
  storeStep,
} from "../../runtime/train/step_cache.ts";
import type { RenameRule } from "../../runtime/weights.ts";
import { dimsOf, overridesOf } from "../args.ts";
import { withTokenIds } from "../token_overrides.ts";
import { backendOf, type Io, type Parsed, UsageError } from "../command.ts";
import { sessionArgsOf } from "../sessions.ts";

/**
 * An integer setting: the option's value, checked against its range as the command line was
 * parsed (commands/mod.ts), else the train section's, which is checked here.
 */
function positiveInt(args: Parsed, flag: string, dflt: number, min = 1): number {
  const v = (args.opts[flag] as number | undefined) ?? dflt;
  if (!Number.isInteger(v) || v < min) {
    throw new UsageError(...diag("DLM0501", `--${flag}`, `an integer >= ${min}`, v));
  }
  return v;
}

/** Run `dlm train`; returns the exit code. */
export async function run(args: Parsed, io: Io): Promise<number> {
  if (args.positional.length !== 1) {
    throw new UsageError(...diag("DLM0505", "step model file", args.positional.length));
  }
  const file = args.positional[0];
  const sessionArgs = sessionArgsOf(args);
  const items = (args.opts.data as string[] | undefined) ?? [];
  if (items.length === 0) throw new UsageError(...diag("DLM0506", "--data NAME=PATH"));
  const weights = (args.opts.weights as string[] | undefined) ?? [];
  const map = args.opts["weights-map"] as string | undefined;
  if (map && !weights.length) {
    throw new UsageError(...diag("DLM0507", "--weights-map", "--weights"));
  }
  // Weights files, their maps and the compiler are loaded only when used: a step from the cache
  // starts without them (the module graph of a cached start: compiler/train/pack_values.ts).
  const weightsIo = () => import("../../runtime/weights.ts");
  const rules = map ? (await weightsIo()).readWeightsMap(map) : [];
  // The data remembers its files, columns and lines, for messages about a value.
  const data = loadDataset(parseDataSpecs(items), {
    tokenizer: args.opts.tokenizer as string | undefined,
  });
  const arrays = data.arrays;
  // A .dlm file: its train section compiles to the step and evaluation models, and
  // sets defaults (epochs, batch size, validation split) that flags override.
  let step: ModelSource = file;
  // The one-step graph's parameters and the values of the frozen ones, whatever runs.
  let stepGraph: CompiledStep["graph"] | undefined;
  const perRun = positiveInt(args, "steps-per-run", 8);
  let evalModel: ModelSource | undefined = args.opts.eval as string | undefined;
  let defaults: TrainSettings = { metrics: [] };
  let sources: SourceMap | undefined;
  // Data a stage computes between epochs (`input pseudo: i64[N] from kmeans(...)`).
  let compiledStages: CompiledStage[] = [];
  if (file.toLowerCase().endsWith(".dlm")) {
    const { compiled, weightNotes, stages } = await compileStep(file, args, {
      data: arrays,
      perRun,
      weights,
      rules,
      io,
    });
    sources = new SourceMap();
    for (const [f, text] of compiled.sources) sources.add(f, text);
    // Warnings (a loss that reaches no parameter, ...) are worth seeing before a long run.
    warn({ warnings: compiled.warnings, sources }, io);
    // Then what loading the weights found (names that matched nothing, ...).
    for (const note of weightNotes) io.err(note);
    stepGraph = compiled.graph;
    step = compiled.step;
    evalModel = compiled.eval;
    defaults = compiled.settings;
    compiledStages = stages;
  } else if (!file.toLowerCase().endsWith(".onnx")) {
    throw new UsageError(
      ...diag("DLM0501", "dlm train", "a .dlm file or a .onnx step model", `'${file}'`),
    );
  }
  // --save-adapter needs a fine-tuned model: say so before training, not after.
  const saveAdapter = args.opts["save-adapter"] as string | undefined;
  const methods = stepGraph ? stepGraph.params.filter((p) => p.adapter) : [];
  if (saveAdapter && methods.length === 0) {
    throw new DlmError(error(...diag("DLM0512", "--save-adapter", stepGraph?.name ?? file)));
  }
  // A resumed run splits and shuffles with the seed of the run it continues, unless told otherwise.
  const resumePath = args.opts.resume as string | undefined;
  const resume = resumePath !== undefined ? loadCheckpoint(resumePath) : undefined;
  const seed = (args.opts.seed as number | undefined) ?? resume?.seed ?? 0;
  const evalFile = evalModel;
  const frac = (args.opts["val-split"] as number | undefined) ?? defaults.valSplit;
  let trainSet = data;
  let val: Dataset | undefined;
  if (frac !== undefined && frac > 0) {
    if (!evalFile) throw new UsageError(...diag("DLM0507", "--val-split", "--eval EVAL.onnx"));
    ({ train: trainSet, val } = data.split(frac, {
      seed,
      stratify: args.opts.stratify as string | undefined,
    }));
  }
  // A small-data run: the first N training samples (in the data's order) after the split.
  const limit = (args.opts["train-samples"] as number | undefined) ?? defaults.trainSamples;
  if (limit !== undefined && limit < trainSet.size) {
    trainSet = trainSet.take([...Array(limit).keys()]);
  }
  let initial: Map<string, Tensor> | undefined;
  if (weights.length && typeof step === "string") {
    // An ONNX step model: the files' tensors, renamed, are the initial state (later files win).
    initial = new Map();
    const { readWeightsFile, rename } = await weightsIo();
    for (const w of weights) {
      for (const [name, t] of readWeightsFile(w)) initial.set(rename(name, rules), t);
    }
  }
  const monitor = (args.opts["early-stop"] as string | undefined) ?? defaults.earlyStop;
  const epochs = positiveInt(args, "epochs", defaults.epochs ?? 1, 0);
  const batchSize = positiveInt(args, "batch-size", defaults.batchSize ?? 32);
  // A schedule that needs more steps than the run takes never plays out: said before training.
  const steps = epochs * trainSet.batchCount(batchSize);
  const sched = defaults.schedule;
  if (sched && resume === undefined && sched.steps > steps) {
    const run = `${steps} steps: ${epochs} epoch${epochs === 1 ? "" : "s"} of ${
      trainSet.batchCount(batchSize)
    } batches`;
    io.err(formatDiagnostic(warning(...diag("DLM0352", sched.what, run), sched.span), sources));
  }
  const r = await train({
    step,
    eval: evalFile,
    data: trainSet,
    val,
    epochs,
    batchSize,
    shuffle: !args.opts["no-shuffle"],
    dropLast: !!args.opts["drop-last"] || (defaults.dropLast ?? false),
    seed: args.opts.seed as number | undefined,
    backend: backendOf(args, true),
    initial,
    resume,
    stepsPerRun: perRun,
    outDir: args.opts.out as string | undefined,
    earlyStopping: monitor
      ? { monitor, patience: positiveInt(args, "patience", defaults.patience ?? 3) }
      : undefined,
    progress: stderrSink(),
    sessions: { ...sessionArgs, report: true, warn: io.err, keepAtEnd: io.exitsAfter },
    memoryBudget: memoryBudget(args.opts["memory-budget"] as string | undefined),
    stages: compiledStages.length
      ? await import("../../runtime/train/stages.ts").then(({ kmeansStage }) =>
        compiledStages.map((st) => kmeansStage(st, backendOf(args, true), seed, sources))
      )
      : [],
  });
  const save = args.opts.save as string | undefined;
  if (save) {
    // Every parameter under its dlm name: the trained ones and, for a .dlm file, the frozen ones.
    const all = new Map(r.weights);
    if (stepGraph) {
      for (const p of stepGraph.params) {
        const t = all.get(p.name) ?? stepGraph.frozen.get(p.name);
        if (t && !all.has(p.name)) all.set(p.name, t);
      }
    }
    writeFileAtomic(save, writeSafetensors([...all]));
    r.files.push(save);
  }
  if (saveAdapter) {
    const entries = methods.map((p): [string, Tensor] => [
      p.name,
      r.weights.get(p.name) ?? stepGraph!.frozen.get(p.name)!,
    ]);
    writeFileAtomic(saveAdapter, writeSafetensors(entries));
    r.files.push(saveAdapter);
  }
  const last = r.history.at(-1);
  io.err(
    `trained ${r.epochs} epoch${r.epochs === 1 ? "" : "s"}` +
      (r.stoppedEarly ? " (stopped early)" : "") +
      (last
        ? `: ${Object.entries(last.values).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ")}`
        : ""),
  );
  for (const f of r.files) io.err(`wrote ${f}`);
  return 0;
}

/**
 * The step and evaluation models of a .dlm file's train section, as the loop loads them, from
 * the compiled-step cache (runtime/train/step_cache.ts) or compiled. The cache is keyed by every
 * option that reaches the compiler here; `--no-cache` bypasses it, and so do `--weights` (they
 * are loaded into the compiled graphs).
 */
async function compileStep(
  file: string,
  args: Parsed,
  ctx: {
    data: Record<string, Tensor>;
    perRun: number;
    weights: string[];
    rules: RenameRule[];
    io: Io;
  },
): Promise<{ compiled: CompiledStep; weightNotes: string[]; stages: CompiledStage[] }> {
  const valSplit = args.opts["val-split"] as number | undefined;
  const options = {
    model: args.opts.model as string | undefined,
    seed: (args.opts.seed as number | undefined) ?? 0,
    overrides: await withTokenIds(overridesOf(args), args.opts.tokenizer as string | undefined),
    dims: dimsOf(args),
    // A sequence length the model leaves symbolic is the data's: recurrent layers unroll over it.
    dataShapes: Object.fromEntries(Object.entries(ctx.data).map(([k, t]) => [k, t.shape])),
  };
  const session = sessionArgsOf(args).cache;
  const cache = session && !ctx.weights.length ? stepCacheConfig(session) : undefined;
  const key = cache
    ? await stepKey(file, { ...options, pack: true, valSplit, perRun: ctx.perRun })
    : undefined;
  if (cache && key) {
    const hit = await lookupStep(cache, key);
    if ("value" in hit) return { compiled: hit.value, weightNotes: [], stages: [] };
  }
  // The compiler is loaded only when the step is not in the cache: a cached step starts without
  // it (about 40 ms of module loading).
  const [{ compileTrain }, { multiStep }, { readFromDisk }, { loadModel }, { loadWeights }] =
    await Promise.all([
      import("../../compiler/train/mod.ts"),
      import("../../compiler/train/multistep.ts"),
      import("../../compiler/check/program.ts"),
      import("../../runtime/train/model.ts"),
      import("../../runtime/weights.ts"),
    ]);
  const reads = recordingReads(readFromDisk);
  const c = compileTrain(file, {
    ...options,
    read: reads.read,
    // Small parameters update as flat vectors: fewer, larger operations per step.
    pack: true,
    // The evaluation model runs only on validation data (--val-split or the section's).
    evaluation: (s) => (valSplit ?? s.valSplit ?? 0) > 0,
  });
  if (!c.step) {
    throw new DlmError(c.diagnostics.filter((d) => d.severity === "error"), c.sources);
  }
  // Weights load by name into both models: the trained state and the frozen constants.
  const weightNotes: string[] = [];
  if (ctx.weights.length) {
    for (const d of loadWeights(c.step, ctx.weights, ctx.rules).warnings) {
      weightNotes.push(formatDiagnostic(d));
    }
    if (c.eval) loadWeights(c.eval, ctx.weights, ctx.rules);
    for (const st of c.stages ?? []) loadWeights(st.graph, ctx.weights, ctx.rules);
  }
  const frozen = new Map<string, Tensor>();
  // (A weight trained at some taps keeps its initial value as an initializer too: not frozen.)
  const tapped = tapWeights(c.step.packs);
  for (const p of c.step.params) {
    const t = c.step.initializers.get(p.name);
    if (t && !tapped.has(p.name)) frozen.set(p.name, t);
  }
  // K steps per run: the step becomes a Scan over K stacked batches (compiler/train/multistep.ts).
  // Loaded as the loop loads them: random draws become inputs it feeds.
  const compiled: CompiledStep = {
    step: loadModel(ctx.perRun > 1 ? multiStep(c.step) : c.step, "step model", { draws: true }),
    eval: c.eval ? loadModel(c.eval, "evaluation model", { draws: true }) : undefined,
    graph: { name: c.step.name, params: c.step.params, frozen },
    settings: c.settings!,
    warnings: c.diagnostics,
    sources: c.sources.files(),
  };
  // A section with stages (k-means between epochs) is not stored: its stage graphs are not part
  // of an entry, so such a file always compiles (and a lookup of it always misses).
  const stages = c.stages ?? [];
  if (cache && key && stages.length === 0) {
    const w = await storeStep(cache, key, reads.files, compiled);
    if (w) ctx.io.err(w);
  }
  return { compiled, weightNotes, stages };
}
