/**
 * Training in the page (the training worker, train_worker.ts, drives it): a train section compiled
 * by the same training compiler as `dlm train` (compiler/train, packed parameters, K steps per run
 * as one Scan), run step group by step group so that it can pause between any two runs and
 * resume where it stopped. Nothing here touches a disk or names a backend: the caller gives the
 * runner factory (onnxruntime-web in the worker, onnxruntime-node or the reference interpreter in
 * `deno test`), so the same loop is tested against runtime/train/loop.ts's.
 *
 * It follows loop.ts's `train` where the order of numbers matters: the same validation split
 * (Dataset.split with the seed), the same shuffled batches (seed * 100003 + epoch), the same
 * random draws (dropout masks keyed by the step's number), the same evaluation (in order, draws
 * keyed `eval:<batch>`), and sample-weighted epoch means. What it leaves out: checkpoints and
 * history files, early stopping, data stages, --train-samples and the data checks against the
 * memory budget (the page trains the sections it knows fit).
 */
import { compileFile, type CompileResult, hasErrors } from "../../compiler/compile.ts";
import { type Diagnostic, DlmError } from "../../compiler/diagnostics.ts";
import { type Graph, tapWeights } from "../../compiler/ir/graph.ts";
import { type Tensor, toNumbers } from "../../compiler/ir/tensor.ts";
import { pipelineFor, runPasses } from "../../compiler/passes/mod.ts";
import { emitModel } from "../../compiler/onnx/emit.ts";
import {
  compileTrain,
  fedInput,
  LOSS_OUTPUT,
  metricOf,
  nextName,
  parseOptSlot,
  STEP_INPUT,
  type TrainSettings,
} from "../../compiler/train/mod.ts";
import { multiStep } from "../../compiler/train/multistep.ts";
import { unpackValues } from "../../compiler/train/pack_values.ts";
import { type Batch, Dataset } from "../../runtime/data/mod.ts";
import { readSafetensors, writeSafetensors } from "../../runtime/formats/safetensors.ts";
import { stack } from "../../runtime/reference/kernels/stack_util.ts";
import { batchSizes, drawFeeds } from "../../runtime/train/draws.ts";
import { initialState } from "../../runtime/train/loop.ts";
import { type LoadedModel, loadModel } from "../../runtime/train/model.ts";
import type { Runner } from "../../runtime/train/runner.ts";
import type { ReadFile } from "../../compiler/check/program.ts";
import { loadWeights } from "../../runtime/weights.ts";

/** Opens a runner on a loaded model: `forward` for the evaluation and inference models. */
export type OpenRunner = (m: LoadedModel, kind: "step" | "forward") => Promise<Runner>;

/** A train section compiled for the page. */
export interface Prepared {
  step: LoadedModel;
  eval?: LoadedModel;
  settings: TrainSettings;
  /** Every parameter of the model, and the frozen ones' values (written with the trained). */
  params: string[];
  frozen: Map<string, Tensor>;
  diagnostics: Diagnostic[];
}

/**
 * Compile `path`'s train section as `dlm train` does (packed, `perRun` steps per run, an
 * evaluation model when the section splits off validation data). Errors throw a DlmError.
 */
export function prepare(
  path: string,
  read: ReadFile,
  data: Record<string, Tensor>,
  opts: { seed?: number; perRun?: number; model?: string } = {},
): Prepared {
  const c = compileTrain(path, {
    model: opts.model,
    seed: opts.seed ?? 0,
    read,
    pack: true,
    evaluation: (s) => (s.valSplit ?? 0) > 0,
    dataShapes: Object.fromEntries(Object.entries(data).map(([k, t]) => [k, t.shape])),
  });
  if (!c.step || !c.settings) {
    throw new DlmError(c.diagnostics.filter((d) => d.severity === "error"), c.sources);
  }
  const frozen = new Map<string, Tensor>();
  // (A weight trained at some taps keeps its initial value as an initializer too: not frozen.)
  const tapped = tapWeights(c.step.packs);
  for (const p of c.step.params) {
    const t = c.step.initializers.get(p.name);
    if (t && !tapped.has(p.name)) frozen.set(p.name, t);
  }
  const perRun = opts.perRun ?? 8;
  return {
    step: loadModel(perRun > 1 ? multiStep(c.step) : c.step, "step model", { draws: true }),
    eval: c.eval ? loadModel(c.eval, "evaluation model", { draws: true }) : undefined,
    settings: c.settings,
    params: c.step.params.map((p) => p.name),
    frozen,
    diagnostics: c.diagnostics,
  };
}

/** One epoch's record, as history.ts's EpochRecord: means of the epoch, `val_*` on validation. */
export interface EpochRecord {
  epoch: number;
  step: number;
  values: Record<string, number>;
  seconds: number;
}

/** What a run of steps reports. */
export interface StepReport {
  epoch: number;
  epochs: number;
  /** Batches done in this epoch, and in all. */
  batch: number;
  batches: number;
  steps: number;
  /** The run's steps' losses and metrics (one each per step). */
  losses: number[];
  metrics: Record<string, number[]>;
  /** Milliseconds of the run (onnxruntime's, feeds included) per step. */
  msPerStep: number;
}

export interface SessionOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  valSplit?: number;
  perRun?: number;
  shuffle?: boolean;
  dropLast?: boolean;
}

/**
 * A training run that can stop between any two runs of the step and go on: `advance` runs until
 * the epochs are done or `stop()` says so. The state is held as the step's (packed) inputs.
 */
export class TrainSession {
  readonly train: Dataset;
  readonly val?: Dataset;
  readonly history: EpochRecord[] = [];
  readonly losses: number[] = [];
  epoch = 0;
  steps = 0;
  /** Training seconds so far (paused time not counted). */
  seconds = 0;
  private state: Map<string, Tensor>;
  private stepRunner?: Runner;
  private evalRunner?: Runner;
  private queue: Batch[] = [];
  private pos = 0;
  private sums: Record<string, number> = {};
  private seen = 0;
  private epochSeconds = 0;
  private readonly stateNames: Set<string>;
  private readonly inputs: string[];
  private readonly metricNames: string[];

  constructor(
    readonly prep: Prepared,
    data: Dataset,
    readonly opts: SessionOptions,
    private readonly open: OpenRunner,
  ) {
    const frac = opts.valSplit ?? 0;
    if (frac > 0 && prep.eval) {
      ({ train: this.train, val: this.val } = data.split(frac, { seed: opts.seed }));
    } else this.train = data;
    this.state = initialState(prep.step);
    this.stateNames = new Set(this.state.keys());
    const drawn = new Set(prep.step.draws.map((d) => d.input));
    this.inputs = prep.step.inputNames.filter((n) => !this.stateNames.has(n) && !drawn.has(n));
    this.metricNames = prep.step.outputNames.filter((o) => metricOf(o)).map((o) => metricOf(o)!);
  }

  get done(): boolean {
    return this.epoch >= this.opts.epochs;
  }

  get batchesPerEpoch(): number {
    return this.train.batchCount(this.opts.batchSize, this.opts.dropLast ?? false);
  }

  /** The state by parameter name (packs unpacked): what evaluation and the weights file read. */
  named(): Map<string, Tensor> {
    const packs = this.prep.step.packs;
    return packs.length ? unpackValues(packs, this.state, this.prep.step.defaults) : this.state;
  }

  /**
   * Every parameter under its dlm name, trained and frozen, in the model's order: what
   * `dlm train --save` writes (no optimiser state, no step counter).
   */
  weights(): Map<string, Tensor> {
    const named = this.named();
    const out = new Map<string, Tensor>();
    for (const p of this.prep.params) {
      const t = named.get(p) ?? this.prep.frozen.get(p);
      if (t) out.set(p, t);
    }
    // Buffers training updates (running statistics) are state, not parameters: kept too.
    for (const [k, t] of named) {
      if (!out.has(k) && k !== STEP_INPUT && !parseOptSlot(k)) out.set(k, t);
    }
    return out;
  }

  /**
   * Run step groups until the epochs are done or `stop()` is true (checked before each run).
   * `onStep` hears every run, `onEpoch` every epoch's record.
   */
  async advance(
    stop: () => boolean | Promise<boolean>,
    onStep: (r: StepReport) => void = () => {},
    onEpoch: (r: EpochRecord) => void = () => {},
  ): Promise<"done" | "stopped"> {
    const m = this.prep.step;
    this.stepRunner ??= await this.open(m, "step");
    if (this.val && this.prep.eval) this.evalRunner ??= await this.open(this.prep.eval, "forward");
    const batchSize = this.opts.batchSize;
    const dropLast = this.opts.dropLast ?? false;
    const perRun = m.multiStep ? (this.opts.perRun ?? 8) : 1;
    const types = stepTypes(m, this.inputs);
    const fetch = [
      LOSS_OUTPUT,
      ...this.metricNames.map((k) => `metric:${k}`),
      ...[...this.stateNames].map(nextName),
    ];
    while (!this.done) {
      if (this.pos === 0 && this.queue.length === 0) {
        this.queue = [
          ...this.train.batches(batchSize, {
            shuffle: this.opts.shuffle ?? true,
            seed: this.opts.seed * 100003 + this.epoch,
            dropLast,
          }),
        ];
        this.sums = {};
        this.seen = 0;
        this.epochSeconds = 0;
      }
      while (this.pos < this.queue.length) {
        if (await stop()) return "stopped";
        // The group loop.ts runs: up to perRun batches of one size.
        const group: Batch[] = [this.queue[this.pos]];
        while (
          group.length < perRun && this.pos + group.length < this.queue.length &&
          this.queue[this.pos + group.length].size === group[0].size
        ) group.push(this.queue[this.pos + group.length]);
        const t0 = performance.now();
        const feeds: Record<string, Tensor> = {};
        for (const n of m.inputNames) if (this.stateNames.has(n)) feeds[n] = this.state.get(n)!;
        for (const n of this.inputs) {
          feeds[n] = m.multiStep ? stack(group.map((b) => b.arrays[n]), 0) : group[0].arrays[n];
        }
        const numbers = group.map((_, i) => this.steps + i);
        Object.assign(
          feeds,
          drawFeeds(m.draws, batchSizes(types, group[0].arrays), this.opts.seed, numbers),
        );
        const out = await this.stepRunner.run(feeds);
        const ms = performance.now() - t0;
        this.steps += group.length;
        this.pos += group.length;
        const per = (name: string) => toNumbers(out[name]);
        const losses = per(LOSS_OUTPUT);
        const metrics: Record<string, number[]> = {};
        for (const k of this.metricNames) metrics[k] = per(`metric:${k}`);
        group.forEach((b, i) => {
          this.losses.push(losses[i]);
          this.sums.loss = (this.sums.loss ?? 0) + losses[i] * b.size;
          for (const k of this.metricNames) {
            this.sums[k] = (this.sums[k] ?? 0) + metrics[k][i] * b.size;
          }
          this.seen += b.size;
        });
        const next = new Map<string, Tensor>();
        for (const o of fetch) {
          const x = fedInput(o);
          if (x !== undefined) next.set(x, out[o]);
        }
        this.state = next;
        this.epochSeconds += ms / 1000;
        this.seconds += ms / 1000;
        onStep({
          epoch: this.epoch + 1,
          epochs: this.opts.epochs,
          batch: this.pos,
          batches: this.queue.length,
          steps: this.steps,
          losses,
          metrics,
          msPerStep: ms / group.length,
        });
      }
      const t0 = performance.now();
      const values: Record<string, number> = {};
      for (const [k, v] of Object.entries(this.sums)) values[k] = v / this.seen;
      if (this.val && this.evalRunner && this.prep.eval) {
        const v = await this.evaluate(this.evalRunner, this.prep.eval, this.val);
        for (const [k, x] of Object.entries(v)) values[`val_${k}`] = x;
      }
      this.epochSeconds += (performance.now() - t0) / 1000;
      this.seconds += (performance.now() - t0) / 1000;
      this.epoch++;
      const stepT = this.state.get(STEP_INPUT);
      const record = {
        epoch: this.epoch,
        step: stepT ? Number(toNumbers(stepT)[0]) : this.losses.length,
        values,
        seconds: this.epochSeconds,
      };
      this.history.push(record);
      this.queue = [];
      this.pos = 0;
      onEpoch(record);
    }
    return "done";
  }

  /** loop.ts's `evaluate`: in order, sample-weighted means, draws keyed by the batch. */
  private async evaluate(
    runner: Runner,
    m: LoadedModel,
    data: Dataset,
  ): Promise<Record<string, number>> {
    const state = this.named();
    const inputs = m.inputNames.filter((n) => !state.has(n) && !m.draws.some((d) => d.input === n));
    const types = stepTypes(m, inputs);
    const wanted = m.outputNames.filter((o) => o === LOSS_OUTPUT || metricOf(o));
    const sums: Record<string, number> = {};
    let seen = 0;
    const bs = this.opts.batchSize;
    for (const b of data.batches(bs, { shuffle: false, dropLast: this.opts.dropLast ?? false })) {
      seen += b.size;
      const feeds: Record<string, Tensor> = {};
      for (const n of m.inputNames) if (state.has(n)) feeds[n] = state.get(n)!;
      for (const n of inputs) feeds[n] = b.arrays[n];
      Object.assign(
        feeds,
        drawFeeds(m.draws, batchSizes(types, b.arrays), this.opts.seed, [`eval:${b.index}`]),
      );
      const out = await runner.run(feeds);
      for (const o of wanted) {
        const key = o === LOSS_OUTPUT ? "loss" : metricOf(o)!;
        sums[key] = (sums[key] ?? 0) + toNumbers(out[o])[0] * b.size;
      }
    }
    for (const k of Object.keys(sums)) sums[k] /= seen;
    return sums;
  }

  async release(): Promise<void> {
    await this.stepRunner?.release();
    await this.evalRunner?.release();
    this.stepRunner = this.evalRunner = undefined;
  }
}

function stepTypes(m: LoadedModel, inputs: string[]) {
  return inputs.map((name) => {
    const type = m.graph.inputs.find((i) => i.name === name)!.type;
    return { name, type: m.multiStep ? { ...type, shape: type.shape.slice(1) } : type };
  });
}

/** The weights as a safetensors file, the layout `dlm train --save` writes. */
export function weightsFile(w: Map<string, Tensor>): Uint8Array {
  return writeSafetensors([...w]);
}

/**
 * The model's inference graph (eval mode, the inference passes run, as `dlm run` builds it) with
 * its parameters loaded from `weights` (a safetensors file's bytes, called `name` in messages) as
 * `dlm run --weights` loads them (runtime/weights.ts): a tensor of another shape is DLM0403, bytes
 * that are not safetensors DLM0402/DLM0409 (thrown); parameters the file lacks keep their initial
 * values (DLM0404) and tensors no parameter takes are named (DLM0407): the warnings returned.
 */
export function inferenceModel(
  path: string,
  read: ReadFile,
  weights: Uint8Array,
  model?: string,
  name = "the weights",
): { graph: Graph; onnx: Uint8Array; warnings: Diagnostic[] } {
  const c: CompileResult = compileFile(path, { model, mode: "eval", seed: 0, read });
  if (!c.graph || hasErrors(c.diagnostics)) {
    throw new DlmError(c.diagnostics.filter((d) => d.severity === "error"), c.sources);
  }
  const g = c.graph;
  const { warnings } = loadWeights(g, [{ name, tensors: readSafetensors(weights, name).tensors }]);
  runPasses(g, pipelineFor("onnx", "eval"), { mode: "eval" });
  return { graph: g, onnx: emitModel(g).model, warnings };
}

/** Softmax of one row of logits, in f64. */
export function softmax(logits: readonly number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
