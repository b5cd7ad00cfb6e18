/**
 * The training loop over a step model that follows compiler/train/contract.ts:
 * hold the state (every input X with an output `next:X`), feed it with each
 * batch, replace it by the `next:` outputs, evaluate on a validation set
 * through an evaluation model, stop early, checkpoint every epoch, and
 * write the loss/metric curves. The same seed gives the same run; on the
 * reference backend the losses are bit-identical.
 */
import { diag, DlmError, fail } from "../../compiler/diagnostics.ts";
import { type Dim, formatType, type Graph, type Node } from "../../compiler/ir/graph.ts";
import { type DType, type Tensor, tensor, toNumbers, zeros } from "../../compiler/ir/tensor.ts";
import {
  fedInput,
  LOSS_OUTPUT,
  metricOf,
  nextName,
  parseOptSlot,
  stateInputs,
  STEP_INPUT,
} from "../../compiler/train/contract.ts";
import { packValues, unpackValues } from "../../compiler/train/pack_values.ts";
import { checkOutputFile, makeOutputDir } from "../fs.ts";
import { type Batch, checkData, type Dataset, describeRows } from "../data/mod.ts";
import { checkDimBounds, checkRunSizes } from "../inputs.ts";
import type { MemoryBudget } from "../memory.ts";
import { stack } from "../reference/kernels/stack_util.ts";
import { type Checkpoint, CHECKPOINT_FILE, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import type { EpochRecord } from "./history.ts";
import { HISTORY_FILES, lowerIsBetter, writeHistory } from "./history.ts";
import { isLoaded, type LoadedModel, type ModelSource } from "./loaded.ts";
import { batchSizes, drawFeeds } from "./draws.ts";
import { Progress, type ProgressSink } from "./progress.ts";
import { type Backend, openRunner, type Runner } from "./runner.ts";
import type { DataStage } from "./stages.ts";
import type { CacheConfig } from "../ort/cache.ts";
import type { OptimizeLevel } from "../ort/optimize.ts";

/** Early stopping on a value of the history (`val_loss`, `val_accuracy`, ...). */
export interface EarlyStopping {
  monitor: string;
  /** Default: "min" for losses, perplexities and errors (history.ts `lowerIsBetter`), else "max". */
  mode?: "min" | "max";
  /** Epochs without improvement before stopping (default 3). */
  patience?: number;
  /** The smallest change that counts as an improvement (default 0). */
  minDelta?: number;
}

/** Options of `train`. */
export interface TrainOptions {
  /** The step model (contract.ts). */
  step: ModelSource;
  /** The evaluation model: params/buffers/batch in, `loss` and `metric:*` out. */
  eval?: ModelSource;
  data: Dataset;
  /** Validation data; needs `eval`. */
  val?: Dataset;
  epochs?: number;
  /**
   * Stop once this many steps have run in all (counting a resumed run's earlier steps), within
   * an epoch if need be: a token budget (`dlm sweep --tokens`). The cut epoch is evaluated and
   * recorded as a whole one is, its training means over the steps it ran. Default: no limit.
   */
  maxSteps?: number;
  batchSize?: number;
  /** Shuffle every epoch (default true), seeded by `seed` and the epoch. */
  shuffle?: boolean;
  /**
   * Leave out each epoch's last batch when it is smaller (torch's `drop_last=True`), in training
   * and in validation: a model compiled for a fixed batch size takes no other.
   */
  dropLast?: boolean;
  seed?: number;
  backend?: Backend;
  /** Initial values by name; override the model's initializers. */
  initial?: Map<string, Tensor> | Record<string, Tensor>;
  /**
   * A checkpoint to continue from (its state, epoch count, steps, seed and history): its path,
   * or one read already.
   */
  resume?: string | Checkpoint;
  /** Folder for `checkpoint.safetensors` (every epoch) and `history.csv`/`.svg` (at the end). */
  outDir?: string;
  earlyStopping?: EarlyStopping;
  /** Progress display (default: none). */
  progress?: ProgressSink;
  /**
   * For a multi-step model (compiler/train/multistep.ts): batches stacked per run (default 8).
   * Batches of a different size (an epoch's last) run in a group of their own.
   */
  stepsPerRun?: number;
  /** How onnxruntime creates the step's and evaluation's sessions (runtime/ort). */
  sessions?: SessionChoices;
  /**
   * The memory budget of a run of the step and of the evaluation model, each checked before its
   * first run (runtime/memory.ts; default from the environment and the machine).
   */
  memoryBudget?: MemoryBudget;
  /**
   * Stages that compute data for the next updates (stages.ts; deep clustering's pseudo-labels):
   * each runs before the epochs it is due and before the run's first, and the epoch trains and
   * validates on the data it returns. Its figures join the epoch's record.
   */
  stages?: DataStage[];
}

/** The onnxruntime session settings a training run takes. */
export interface SessionChoices {
  /** Graph optimisation level of both sessions (default: runtime/ort/optimize.ts's, by kind). */
  optimize?: OptimizeLevel;
  /** Keep and reuse optimised graphs here (default: no cache). */
  cache?: CacheConfig;
  /** Say on stderr what a slow session load is doing (default: silent). */
  report?: boolean;
  /** Where the cache's warning goes (default console.error). */
  warn?: (line: string) => void;
  /**
   * Leave the sessions to the process's end instead of releasing them when training ends: for a
   * caller that exits right after (the CLI), where releasing a large step only costs time.
   */
  keepAtEnd?: boolean;
}

/** What `train` returns. */
export interface TrainResult {
  history: EpochRecord[];
  /** Loss of every step, in order (including steps before a resume). */
  losses: number[];
  /** Final state by name: parameters, buffers, optimiser state, `step` (packed ones unpacked). */
  state: Map<string, Tensor>;
  /** Parameters and buffers only (no optimiser state, no `step`). */
  weights: Map<string, Tensor>;
  stoppedEarly: boolean;
  /** Epochs completed. */
  epochs: number;
  /** Files written (checkpoint, curves). */
  files: string[];
}

const quote = (xs: Iterable<string>) => [...xs].map((x) => `'${x}'`).join(", ");

/**
 * The initial state: given values, else the model's defaults, else zeros
 * for optimiser state and `step`. Values are given by parameter name; for a
 * step with packed parameters they are written into their packs.
 */
export function initialState(
  m: LoadedModel,
  named: Map<string, Tensor> = new Map(),
): Map<string, Tensor> {
  const given = m.packs.length ? packValues(m.packs, named, m.defaults) : named;
  const names = stateInputs(m.outputNames);
  if (!m.outputNames.includes(LOSS_OUTPUT)) {
    fail(...diag("DLM0422", "The step model", `an output '${LOSS_OUTPUT}'`, quote(m.outputNames)));
  }
  if (names.length === 0) {
    fail(
      ...diag(
        "DLM0422",
        "The step model",
        "outputs 'next:<name>' for its state",
        quote(m.outputNames),
      ),
    );
  }
  const state = new Map<string, Tensor>();
  const missing: string[] = [];
  for (const n of names) {
    const v = m.graph.inputs.find((i) => i.name === n);
    if (!v) {
      fail(
        ...diag(
          "DLM0422",
          "The step model",
          `an input '${n}' for its output '${nextName(n)}'`,
          "none",
        ),
      );
    }
    const given1 = given.get(n) ?? m.defaults.get(n);
    // Optimiser state is held in its parameter's shape and may be declared in another of the same
    // elements (compiler/train/state_layout.ts): a view of the same data.
    const t = given1 && parseOptSlot(n) ? inLayout(given1, v.type.dtype, v.type.shape) : given1;
    if (t) {
      const ok = t.dtype === v.type.dtype && t.shape.length === v.type.shape.length &&
        v.type.shape.every((d, i) => typeof d !== "number" || d === t.shape[i]);
      if (!ok) {
        fail(
          ...diag(
            "DLM0403",
            `The initial value of '${n}'`,
            formatType(t),
            "the step model's input",
            formatType(v.type),
          ),
        );
      }
      state.set(n, t);
    } else if (
      (n === STEP_INPUT || parseOptSlot(n)) && v.type.shape.every((d) => typeof d === "number")
    ) {
      // Optimiser state and the step counter start at zero.
      state.set(n, zeros(v.type.dtype, v.type.shape as number[]));
    } else missing.push(n);
  }
  if (missing.length) {
    fail(...diag("DLM0416", quote(missing)));
  }
  return state;
}

/**
 * `t` viewed in `shape` (the same data) when that is static, of the same element count and
 * dtype, and not already its shape; else `t` itself.
 */
function inLayout(t: Tensor, dtype: DType, shape: readonly Dim[]): Tensor {
  if (t.dtype !== dtype || !shape.every((d): d is number => typeof d === "number")) return t;
  const dims = shape as number[];
  const same = dims.length === t.shape.length && dims.every((d, i) => d === t.shape[i]);
  const count = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  return same || count(dims) !== count(t.shape) ? t : { ...t, shape: [...dims] };
}

/**
 * State as callers see it: each optimiser state tensor in its parameter's shape (a step may
 * declare it in the layout its update writes: compiler/train/state_layout.ts), so that
 * checkpoints and results hold it as PyTorch's optimisers do. A view, no copy.
 */
export function stateInParamShapes(
  m: LoadedModel,
  state: Map<string, Tensor>,
): Map<string, Tensor> {
  const types = new Map(m.graph.inputs.map((i) => [i.name, i.type]));
  let out: Map<string, Tensor> | undefined;
  for (const [n, t] of state) {
    const p = parseOptSlot(n)?.param, pt = p === undefined ? undefined : types.get(p);
    const u = pt ? inLayout(t, pt.dtype, pt.shape) : t;
    if (u !== t) (out ??= new Map(state)).set(n, u);
  }
  return out ?? state;
}

/** The scalar value of a tensor (loss, metrics). */
function scalar(t: Tensor, name: string): number {
  if (t.shape.reduce((a, b) => a * b, 1) !== 1) {
    fail(...diag("DLM0234", `The output '${name}'`, "a scalar", "it", formatType(t)));
  }
  return toNumbers(t)[0];
}

/** The batch inputs of a model: its inputs that are not state. */
function batchInputs(m: LoadedModel, state: Set<string>, data: Dataset, what: string): string[] {
  const drawn = new Set(m.draws.map((d) => d.input));
  const out = m.inputNames.filter((n) => !state.has(n) && !drawn.has(n));
  const lacking = out.filter((n) => !(n in data.arrays));
  if (lacking.length) {
    fail(
      ...diag(
        "DLM0423",
        `The ${what}`,
        `data for ${quote(lacking)}`,
        `data for ${quote(data.names)}`,
      ),
    );
  }
  return out;
}

/**
 * Check `data` against what model `m` reads (runtime/data/validate.ts), then the sizes of what
 * one run computes (batches of `batchSize`, `perRun` of them stacked) against the size limit.
 */
function checkModelData(
  m: LoadedModel,
  inputs: string[],
  data: Dataset,
  batchSize: number,
  perRun: number,
  what: string,
  dropLast = false,
  budget?: MemoryBudget,
): void {
  const sizes = checkData(m.graph, data, {
    what,
    names: inputs,
    stacked: m.multiStep,
    batchSize,
    dropLast,
  });
  // The batch dim is a batch's size; a multi-step model's stacked axis before it, the steps.
  const origin: Record<string, string> = {};
  const bind = (d: Dim | undefined, size: number, why: string) => {
    if (typeof d !== "string" || sizes[d] !== undefined) return;
    sizes[d] = size;
    origin[d] = `${d} = ${size} (${why})`;
  };
  for (const n of inputs) {
    const shape = m.graph.inputs.find((i) => i.name === n)!.type.shape;
    const [steps, batch] = m.multiStep ? shape : [undefined, shape[0]];
    bind(batch, Math.min(batchSize, data.size), "the batch size");
    bind(steps, Math.min(perRun, data.batchCount(batchSize, dropLast)), "steps per run");
  }
  checkRunSizes(m.graph, sizes, origin, { budget, what });
  // Without drop_last the last batch is smaller: the model's indices must fit it too.
  const last = data.size % batchSize;
  if (!dropLast && last > 0 && data.size > batchSize) {
    const small = { ...sizes }, why = { ...origin };
    for (const n of inputs) {
      const shape = m.graph.inputs.find((i) => i.name === n)!.type.shape;
      const batch = m.multiStep ? shape[1] : shape[0];
      if (typeof batch === "string") {
        small[batch] = last;
        why[batch] =
          `${batch} = ${last}, the last batch of ${data.size} samples; drop_last = true leaves it out`;
      }
    }
    checkDimBounds(m.graph, small, why);
  }
}

/**
 * A run that failed, with what it read: the batches and their rows in the data (data checked
 * beforehand can still hold what a model cannot read, such as indices it computes from an
 * input), and where onnxruntime's failing node comes from in the source, as the reference
 * interpreter says itself.
 */
function explainFailure(
  e: unknown,
  m: LoadedModel,
  when: string,
  group: Batch[],
  data: Dataset,
): unknown {
  if (!(e instanceof DlmError) || e.diagnostics.length !== 1) return e;
  const [d] = e.diagnostics;
  const notes = [...(d.notes ?? [])];
  // onnxruntime names the failing node last (after the Scan that runs it, in a multi-step model).
  const node = [...d.message.matchAll(/node\. Name:'([^']*)'/g)].at(-1)?.[1];
  if (node !== undefined && !d.span) {
    const found = findNode(m.graph, node);
    const at = found?.spans?.[0];
    if (at) notes.push(`node '${node}' (${found!.op}) is from ${at.file}:${at.line}:${at.col}`);
  }
  const batches = group.map((b) => b.index + 1);
  notes.push(
    `the run read ${when}, batch${batches.length > 1 ? "es" : ""} ${batches.join(", ")}: ${
      describeRows(group.flatMap((b) => b.rows), data.origins)
    }`,
  );
  return new DlmError({ ...d, notes }, e.sources);
}

/** A node by name, in the graph or a subgraph (a multi-step model's Scan body). */
function findNode(g: Graph, name: string): Node | undefined {
  for (const n of g.nodes) {
    if (n.name === name) return n;
    for (const a of Object.values(n.attrs)) {
      const inner = a && typeof a === "object" && "nodes" in a
        ? findNode(a as Graph, name)
        : undefined;
      if (inner) return inner;
    }
  }
  return undefined;
}

/**
 * The types of a model's batch inputs in one step (a multi-step model's without their stacked
 * axis), by which a batch gives its symbols sizes.
 */
function stepTypes(m: LoadedModel, inputs: string[]) {
  return inputs.map((name) => {
    const type = m.graph.inputs.find((i) => i.name === name)!.type;
    return { name, type: m.multiStep ? { ...type, shape: type.shape.slice(1) } : type };
  });
}

/**
 * Run the model over `data` in order; sample-weighted means of loss and metrics. Its random
 * draws, if any (a diffusion model's noise), are keyed by the batch alone: every evaluation
 * draws the same, so the validation loss of one epoch compares with the next's.
 */
async function evaluate(
  runner: Runner,
  m: LoadedModel,
  state: Map<string, Tensor>,
  data: Dataset,
  batchSize: number,
  seed: number,
  dropLast = false,
): Promise<Record<string, number>> {
  const inputs = batchInputs(m, new Set(state.keys()), data, "evaluation model");
  const types = stepTypes(m, inputs);
  const wanted = m.outputNames.filter((o) => o === LOSS_OUTPUT || metricOf(o));
  const sums: Record<string, number> = {};
  let seen = 0;
  for (const b of data.batches(batchSize, { shuffle: false, dropLast })) {
    seen += b.size;
    const feeds: Record<string, Tensor> = {};
    for (const n of m.inputNames) if (state.has(n)) feeds[n] = state.get(n)!;
    for (const n of inputs) feeds[n] = b.arrays[n];
    const sizes = batchSizes(types, b.arrays);
    Object.assign(feeds, drawFeeds(m.draws, sizes, seed, [`eval:${b.index}`]));
    let out: Record<string, Tensor>;
    try {
      out = await runner.run(feeds);
    } catch (e) {
      throw explainFailure(e, m, "evaluation", [b], data);
    }
    for (const o of wanted) {
      const key = o === LOSS_OUTPUT ? "loss" : metricOf(o)!;
      sums[key] = (sums[key] ?? 0) + scalar(out[o], o) * b.size;
    }
  }
  for (const k of Object.keys(sums)) sums[k] /= seen;
  return sums;
}

/**
 * Train: run the step model over `data` for `epochs` epochs and return the
 * history and the final state. Errors are DlmErrors: DLM0422 for a model
 * that does not follow the contract, DLM0423 for data that does not fit it,
 * DLM0416 for state without an initial value, DLM0602 for a failing step.
 *
 * @example
 * ```ts
 * const r = await train({ step: "step.onnx", eval: "eval.onnx", data, val, epochs: 5 });
 * console.log(r.history.at(-1)?.values.val_accuracy);
 * ```
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const epochs = opts.epochs ?? 1;
  const batchSize = opts.batchSize ?? 32;
  const backend = opts.backend ?? "reference";
  if (!Number.isInteger(epochs) || epochs < 0) {
    fail(...diag("DLM0210", "Training", "a non-negative integer epoch count", epochs));
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    fail(...diag("DLM0210", "Training", "a positive integer batch size", batchSize));
  }
  const maxSteps = opts.maxSteps ?? Infinity;
  if (!(maxSteps === Infinity || (Number.isInteger(maxSteps) && maxSteps >= 1))) {
    fail(...diag("DLM0210", "Training", "a positive integer step limit", maxSteps));
  }
  if (opts.val && !opts.eval) {
    fail(...diag("DLM0423", "Validation data", "an evaluation model", "none"));
  }
  const dropLast = opts.dropLast ?? false;
  if (dropLast) {
    // Every sample left out would leave an epoch without a step (or a validation without a batch).
    for (const [what, d] of [["training", opts.data], ["validation", opts.val]] as const) {
      if (d && d.size < batchSize) fail(...diag("DLM0260", `The ${what} data`, d.size, batchSize));
    }
  }
  // Random draws (dropout masks, drop-path noise) are fed by the loop, a function of the seed and
  // the step's number: a resumed run draws what the uninterrupted one did (draws.ts).
  const step = await loaded(opts.step, "step model");
  // The evaluation model runs only on validation data: without it, it is not even emitted.
  const evalModel = opts.eval !== undefined && opts.val
    ? await loaded(opts.eval, "evaluation model")
    : undefined;

  let seed = opts.seed ?? 0;
  const given = new Map(
    opts.initial instanceof Map ? opts.initial : Object.entries(opts.initial ?? {}),
  );
  let startEpoch = 0;
  let history: EpochRecord[] = [];
  let losses: number[] = [];
  // Steps run so far, in all epochs: each step's random draws are keyed by its number.
  let stepsDone = 0;
  if (opts.resume) {
    const c = typeof opts.resume === "string" ? loadCheckpoint(opts.resume) : opts.resume;
    for (const [k, t] of c.state) given.set(k, t);
    startEpoch = c.epoch;
    history = c.history;
    losses = c.losses;
    stepsDone = c.steps;
    if (opts.seed === undefined) seed = c.seed;
  }
  let state = initialState(step, given);
  // The state a run consumed, whose buffers the next run's outputs reuse (see runGroup), and the
  // tensors runs produced (only those are reused).
  let spare = new Map<string, Tensor>();
  const produced = new WeakSet<Tensor>();
  // The state by parameter name, as the evaluation model, checkpoints and callers see it.
  // A weight its step trains at some taps only takes the others from the values it started from.
  const bases = new Map([...step.defaults, ...given]);
  const named = (s: Map<string, Tensor>) =>
    stateInParamShapes(step, step.packs.length ? unpackValues(step.packs, s, bases) : s);
  // The data of the epochs to come: the given data, with what the stages last computed.
  let data = opts.data, val = opts.val;
  const stages = opts.stages ?? [];
  let stageValues: Record<string, number> = {};
  const runStages = async (e: number, first: boolean) => {
    stageValues = {};
    for (const st of stages) {
      if (!first && e % st.every !== 0) continue;
      const r = await st.run(e, named(state), data, val);
      ({ data, val } = r);
      Object.assign(stageValues, r.values);
    }
  };
  try {
    // Before the data is checked against the step: the stages make inputs it reads.
    if (epochs > startEpoch && stepsDone < maxSteps) await runStages(startEpoch, true);
  } catch (e) {
    for (const st of stages) await st.release();
    throw e;
  }
  const stateNames = new Set(state.keys());
  const inputs = batchInputs(step, stateNames, data, "step model");
  const types = stepTypes(step, inputs);
  const perRun = step.multiStep ? (opts.stepsPerRun ?? 8) : 1;
  if (!Number.isInteger(perRun) || perRun < 1) {
    fail(
      ...diag("DLM0210", "Training", "a positive integer of steps per run", `${opts.stepsPerRun}`),
    );
  }
  // The data against what the models read, and the sizes it gives them against the size limit,
  // before a session is opened or a step runs.
  checkModelData(
    step,
    inputs,
    data,
    batchSize,
    perRun,
    "The step model",
    dropLast,
    opts.memoryBudget,
  );
  if (evalModel && val) {
    const evalState = new Set(named(state).keys());
    const evalInputs = batchInputs(evalModel, evalState, val, "evaluation model");
    checkModelData(
      evalModel,
      evalInputs,
      val,
      batchSize,
      1,
      "The evaluation model",
      dropLast,
      opts.memoryBudget,
    );
  }
  const metrics = step.outputNames.filter((o) => metricOf(o)).map((o) => metricOf(o)!);
  const fetch = [
    LOSS_OUTPUT,
    ...metrics.map((k) => `metric:${k}`),
    ...[...stateNames].map(nextName),
  ];

  const files: string[] = [];
  if (opts.outDir) {
    // Before the first step: a checkpoint or history path that cannot be written fails now.
    makeOutputDir(opts.outDir);
    for (const f of [CHECKPOINT_FILE, ...HISTORY_FILES]) checkOutputFile(`${opts.outDir}/${f}`);
  }
  const progress = opts.progress ? new Progress(opts.progress) : undefined;
  const stopper = opts.earlyStopping;
  const mode = stopper?.mode ?? (lowerIsBetter(stopper?.monitor ?? "") ? "min" : "max");
  const better = (a: number, b: number) =>
    mode === "min" ? a < b - (stopper?.minDelta ?? 0) : a > b + (stopper?.minDelta ?? 0);
  let best = NaN, sinceBest = 0, stoppedEarly = false;
  // Replay the resumed history so early stopping counts as an uninterrupted run would.
  for (const r of history) track(r);
  function track(r: EpochRecord): void {
    if (!stopper) return;
    const v = r.values[stopper.monitor];
    if (v === undefined) {
      fail(
        ...diag(
          "DLM0423",
          "Early stopping",
          `a metric '${stopper.monitor}' to monitor`,
          `metrics ${quote(Object.keys(r.values))}`,
        ),
      );
    }
    if (Number.isNaN(best) || better(v, best)) [best, sinceBest] = [v, 0];
    else sinceBest++;
  }

  const sc = opts.sessions ?? {};
  const report = (what: string) => sc.report ? { what, warn: sc.warn } : undefined;
  const runner = await openRunner(step, backend, {
    kind: "step",
    optimize: sc.optimize,
    cache: sc.cache,
    report: report("the training step"),
  });
  // Evaluation runs once an epoch: its session's spinning threads would take a core from the
  // step's (dlm train on LeNet: 5.6-6.1 s with, 4.5-5.0 s without).
  const evalRunner = evalModel && val
    ? await openRunner(evalModel, backend, {
      spin: false,
      kind: "forward",
      optimize: sc.optimize,
      cache: sc.cache,
      report: report("the evaluation model"),
    })
    : undefined;
  let epoch = startEpoch;
  try {
    while (
      epoch < epochs && stepsDone < maxSteps && !(stopper && sinceBest >= (stopper.patience ?? 3))
    ) {
      const t0 = performance.now();
      if (epoch > startEpoch) await runStages(epoch, false);
      const sums: Record<string, number> = {};
      let seen = 0;
      const batches = data.batchCount(batchSize, dropLast);
      // One run per batch, or per group of stackable batches for a multi-step model.
      const runGroup = async (group: Batch[]) => {
        const feeds: Record<string, Tensor> = {};
        for (const n of step.inputNames) if (stateNames.has(n)) feeds[n] = state.get(n)!;
        for (const n of inputs) {
          feeds[n] = step.multiStep ? stack(group.map((b) => b.arrays[n]), 0) : group[0].arrays[n];
        }
        const numbers = group.map((_, i) => stepsDone + i);
        Object.assign(
          feeds,
          drawFeeds(step.draws, batchSizes(types, group[0].arrays), seed, numbers),
        );
        // The state the run before consumed, which nothing reads any more, takes this run's
        // outputs (onnxruntime-node then allocates none: 88 MB a run for ResNet-18; Session.run).
        const into: Record<string, Tensor> = {};
        for (const [name, t] of spare) into[nextName(name)] = t;
        let out: Record<string, Tensor>;
        try {
          out = await runner.run(feeds, into);
        } catch (e) {
          // The reference backend throws before returning a promise: caught here too.
          throw explainFailure(e, step, `epoch ${epoch + 1}`, group, data);
        }
        stepsDone += group.length;
        const perStep = (name: string) =>
          step.multiStep ? toNumbers(out[name]) : [scalar(out[name], name)];
        const stepLosses = perStep(LOSS_OUTPUT);
        const stepMetrics = metrics.map((k) => perStep(`metric:${k}`));
        group.forEach((b, i) => {
          losses.push(stepLosses[i]);
          sums.loss = (sums.loss ?? 0) + stepLosses[i] * b.size;
          metrics.forEach((k, j) => (sums[k] = (sums[k] ?? 0) + stepMetrics[j][i] * b.size));
          seen += b.size;
        });
        const next = new Map<string, Tensor>();
        for (const o of fetch) {
          const x = fedInput(o);
          if (x !== undefined) next.set(x, out[o]);
        }
        // Only a run's own outputs are reused: the initial state may share buffers with the
        // compiled model's values, and a value a run passes through unchanged is its input.
        spare = new Map(
          [...state].filter(([k, t]) => produced.has(t) && next.get(k) !== t && !reading(t, next)),
        );
        for (const t of next.values()) produced.add(t);
        state = next;
        const last = group[group.length - 1];
        const secs = (performance.now() - t0) / 1000;
        progress?.batch(epoch + 1, epochs, last.index + 1, batches, sums.loss / seen, seen / secs);
      };
      let group: Batch[] = [];
      // Steps run or waiting in `group`: the step limit cuts the epoch short.
      let planned = stepsDone;
      // One seed per epoch, so a resumed run shuffles as the uninterrupted one did.
      for (
        const b of data.batches(batchSize, {
          shuffle: opts.shuffle,
          seed: seed * 100003 + epoch,
          dropLast,
        })
      ) {
        if (planned >= maxSteps) break;
        if (group.length && (group.length === perRun || group[0].size !== b.size)) {
          await runGroup(group);
          group = [];
        }
        group.push(b);
        planned++;
      }
      if (group.length) await runGroup(group);
      const values: Record<string, number> = {};
      for (const [k, v] of Object.entries(sums)) values[k] = v / seen;
      Object.assign(values, stageValues);
      if (evalRunner && evalModel && val) {
        const v = await evaluate(
          evalRunner,
          evalModel,
          named(state),
          val,
          batchSize,
          seed,
          dropLast,
        );
        for (const [k, x] of Object.entries(v)) values[`val_${k}`] = x;
      }
      epoch++;
      const stepT = state.get(STEP_INPUT);
      const record: EpochRecord = {
        epoch,
        step: stepT ? Number(toNumbers(stepT)[0]) : losses.length,
        values,
        seconds: (performance.now() - t0) / 1000,
      };
      history.push(record);
      track(record);
      progress?.epoch(
        `epoch ${epoch}/${epochs}  ` +
          Object.entries(values).map(([k, v]) => `${k} ${v.toFixed(4)}`).join("  ") +
          `  (${record.seconds.toFixed(1)} s)`,
      );
      if (opts.outDir) {
        const path = `${opts.outDir}/${CHECKPOINT_FILE}`;
        saveCheckpoint(path, {
          state: named(state),
          epoch,
          seed,
          steps: stepsDone,
          history,
          losses,
        });
        if (!files.includes(path)) files.push(path);
      }
    }
    // Early stopping only: a run that reached its step limit did what it was asked.
    stoppedEarly = epoch < epochs && stepsDone < maxSteps;
  } finally {
    if (!opts.sessions?.keepAtEnd) {
      await runner.release();
      await evalRunner?.release();
      for (const st of stages) await st.release();
    }
  }
  if (opts.outDir && history.length) {
    const w = writeHistory(opts.outDir, history, step.graph.name || "training");
    files.push(w.csv, w.svg);
  }
  const final = named(state);
  const weights = new Map([...final].filter(([k]) => k !== STEP_INPUT && !parseOptSlot(k)));
  return { history, losses, state: final, weights, stoppedEarly, epochs: epoch, files };
}

/**
 * A model as the loop runs it, its random draws as inputs: given loaded (`dlm train`'s
 * compiled-step cache), or loaded here by model.ts, whose ONNX decoder and encoder are imported
 * only then.
 */
async function loaded(src: ModelSource, what: string): Promise<LoadedModel> {
  if (isLoaded(src)) return src;
  const { loadModel } = await import("./model.ts");
  return loadModel(src, what, { draws: true });
}

/** Whether a tensor of `state` views `t`'s bytes. */
function reading(t: Tensor, state: Map<string, Tensor>): boolean {
  const buf = (t.data as ArrayBufferView).buffer;
  for (const u of state.values()) {
    if (ArrayBuffer.isView(u.data) && (u.data as ArrayBufferView).buffer === buf) return true;
  }
  return false;
}

/** An i64 scalar step counter (for callers that build initial state by hand). */
export function stepTensor(n: number): Tensor {
  return tensor("i64", [], [n]);
}
