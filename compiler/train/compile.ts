/**
 * Compiling a `train` section into two plain ONNX graphs that follow
 * compiler/train/contract.ts:
 *
 * - the training step: the model in train mode, its loss, the gradients of
 *   the loss with respect to every trainable (not frozen) parameter
 *   (compiler/grad), gradient clipping, the learning-rate schedule and the
 *   optimiser update; inputs are the parameters (their initial values kept
 *   as initializers), batch-norm running statistics and `num_batches_tracked`
 *   (compiler/train/batch_norm_state.ts), optimiser state and `step`;
 *   outputs are `loss`, the metrics and `next:<X>` for every state input X;
 * - the evaluation step: the model in eval mode with the same loss and
 *   metrics, reading the current parameters and statistics as inputs.
 */
import { formatType, type Graph, type Span } from "../ir/graph.ts";
import { compileGlob } from "../check/glob.ts";
import { GraphBuilder } from "../ops/builder.ts";
import {
  dedupeDiagnostics,
  diag,
  type Diagnostic,
  DlmError,
  error,
  fileStart,
  type FixEdit,
  SourceMap,
  withFix,
} from "../diagnostics.ts";
import {
  isProgram,
  loadProgram,
  type Program,
  type ReadFile,
  readFromDisk,
} from "../check/program.ts";
import { elaborateTrain, type TrainElabResult, type TrainStage } from "../check/elaborate/mod.ts";
import { resolveNames } from "../check/resolve.ts";
import type { Value } from "../check/values.ts";
import type * as A from "../syntax/ast.ts";
import { buildGradients } from "../grad/mod.ts";
import {
  beforeGradientsPipeline,
  dce,
  inferencePipeline,
  type PassReport,
  runPasses,
  trainStepPipeline,
} from "../passes/mod.ts";
import { buildOptimizer, keepsZeros, type OptimizerSpec, resolveGroup } from "./optimizers.ts";
import { packMembers, packParams, tapWindows } from "./pack.ts";
import {
  batchNormState,
  countBatches,
  fuseBatchStatistics,
  packRunningStatistics,
  updateRunningStatistics,
} from "./batch_norm_state.ts";
import { buildSchedule, type ScheduleSpec } from "./schedules.ts";
import { buildClip, type ClipSpec } from "./clip.ts";
import { nextName, STEP_INPUT } from "./contract.ts";
import { stateInUpdateLayout } from "./state_layout.ts";
import { gradientWarnings } from "./gradient_warnings.ts";
import { recompute } from "./recompute.ts";
import { minibatchesSpec, minibatchUpdates, minibatchUpdatesUnrolled } from "./minibatches.ts";
import {
  argDefault,
  clipRule,
  MOVING_AVERAGE,
  optimizerRule,
  OPTIMIZERS,
  scheduleLength,
  scheduleRule,
  type SettingArg,
  withDefaults,
} from "../check/builtins/train_rules.ts";

/** Defaults for `dlm train` from the section (flags override them). */
export interface TrainSettings {
  epochs?: number;
  batchSize?: number;
  /** `drop_last = true`: leave out each epoch's last, smaller batch (`--drop-last`). */
  dropLast?: boolean;
  valSplit?: number;
  /** `train_samples = 300`: train on the first 300 samples left after the split. */
  trainSamples?: number;
  earlyStop?: string;
  patience?: number;
  metrics: string[];
  /**
   * How many steps the schedule takes to play out, when it says so (train_rules.ts
   * scheduleLength), and its call: `dlm train` warns when the training is shorter (DLM0352).
   */
  schedule?: { steps: number; what: string; span: Span };
}

/**
 * A stage of the section (`input pseudo: i64[N] from kmeans(...)`) with the model that computes
 * what it clusters: the model in eval mode, its state (parameters, running statistics) as inputs
 * as the evaluation model takes them, one output `stage:<input>`, and only the data inputs that
 * value needs.
 */
export interface CompiledStage extends TrainStage {
  graph: Graph;
}

export interface CompiledTrain {
  step?: Graph;
  eval?: Graph;
  /** The section's stages, in order (empty without any). */
  stages?: CompiledStage[];
  settings?: TrainSettings;
  diagnostics: Diagnostic[];
  sources: SourceMap;
}

export interface TrainCompileOptions {
  /** The model to train; default: the model of the first train section of the main file. */
  model?: string;
  seed?: number;
  overrides?: Record<string, number | boolean | string>;
  /** Fixed sizes for symbolic input dims (`--dim T=35`). */
  dims?: Record<string, number>;
  /**
   * Shapes of the training data by input name: a symbolic dim an input declares after its first
   * (batch) axis takes the data's size there, unless `dims` gives it.
   */
  dataShapes?: Record<string, readonly number[]>;
  read?: ReadFile;
  /**
   * Update small parameters as flat vectors (compiler/train/pack.ts): a
   * faster step whose parameter inputs are packs. Only for single-phase
   * sections without a moving average.
   */
  pack?: boolean;
  /**
   * Whether to build the evaluation model, asked once the section's settings are known (default:
   * always). `dlm train` builds it only when it validates: without validation data the
   * evaluation model is never run, and building it is a tenth of the compile.
   */
  evaluation?: (settings: TrainSettings) => boolean;
  /**
   * Filled with the passes that ran on the step (before its gradients and once it is built) and
   * on the evaluation model, for `--explain-passes`.
   */
  report?: { step: PassReport; eval: PassReport };
  /**
   * `updates = minibatches(...)` as E·M unrolled copies of the update instead of one Loop
   * (compiler/train/minibatches.ts): the reference the loop is tested against.
   */
  unrollUpdates?: boolean;
  /**
   * Optimiser state declared in its parameters' shapes, as the optimiser builds it, instead of the
   * layout its update writes (compiler/train/state_layout.ts): the reference that rewrite is
   * tested against.
   */
  paramShapedState?: boolean;
  /**
   * Sizes to propose for symbolic dims the step needs fixed: a diagnostic that says "fix it with
   * --dim T=<size>" gets a fix writing the size into the declarations of T (the editor's
   * settings give them; `dlm check` has no use for them, as its --dim fixes the dims instead).
   */
  fixDims?: Record<string, number>;
}

/** Compile the train section of a file into its step and evaluation graphs. Never throws for bad input. */
export function compileTrain(path: string, opts: TrainCompileOptions = {}): CompiledTrain {
  const loaded = loadProgram(path, opts.read ?? readFromDisk);
  if (!isProgram(loaded)) return { diagnostics: loaded.diagnostics, sources: loaded.sources };
  const p = loaded;
  const diags = [...p.diagnostics];
  if (diags.some((d) => d.severity === "error")) return { diagnostics: diags, sources: p.sources };
  const section = pickSection(p, opts.model);
  if (!("kind" in section)) return { diagnostics: [section], sources: p.sources };
  const r = compileSection(p, section, opts);
  return { ...r, diagnostics: dedupeDiagnostics([...diags, ...r.diagnostics]) };
}

/**
 * Compile one train section of a loaded program (without errors of its own): what compileTrain
 * does once it has found the section. The language service calls it with the program it checked,
 * for the training compiler's diagnostics.
 */
export function compileSection(
  p: Program,
  section: A.TrainDecl,
  opts: TrainCompileOptions = {},
): CompiledTrain {
  const r = compileSectionOf(p, section, opts);
  return { ...r, diagnostics: r.diagnostics.map((d) => withDimFix(d, p, section, opts.fixDims)) };
}

function compileSectionOf(
  p: Program,
  section: A.TrainDecl,
  opts: TrainCompileOptions,
): CompiledTrain {
  const diags: Diagnostic[] = [];
  const model = p.models.get(section.model);
  if (!model) {
    const names = [...p.models.keys()].join(", ") || "none";
    return {
      diagnostics: [
        error(...diag("DLM0103", section.model, names), section.nameSpan),
      ],
      sources: p.sources,
    };
  }
  diags.push(...resolveNames(p));
  const dims = { ...dimsFromData(model, section, opts.dataShapes ?? {}), ...opts.dims };
  const eopts = { seed: opts.seed, overrides: opts.overrides, dims };
  const tr = elaborateTrain(p, model, section, { ...eopts, mode: "train" });
  diags.push(...tr.diagnostics);
  if (diags.some((d) => d.severity === "error") || !tr.loss) {
    return { diagnostics: dedupeDiagnostics(diags), sources: p.sources };
  }
  // A loss that reaches none (or only some) of the parameters it trains: a warning at the loss.
  diags.push(...gradientWarnings(tr, section));
  try {
    const settings = readSettings(tr, section);
    const step = buildStep(tr, section, opts.pack ?? false, opts.report?.step, opts.unrollUpdates);
    // Last: the nodes that write optimiser state are final once the step is built.
    if (!opts.paramShapedState) stateInUpdateLayout(step);
    // The evaluation model reads the same state as the step (parameters being trained, running
    // statistics, moving averages); frozen parameters stay constants in both.
    // Not num_batches_tracked, which evaluation does not read.
    const members = packMembers(step);
    const counters = new Set(
      step.params.filter((p) => p.role === "num_batches_tracked").map((p) => p.name),
    );
    const state = step.outputs.map((o) => o.name.startsWith("next:") ? o.name.slice(5) : "")
      .filter((n) => n && n !== STEP_INPUT && !n.startsWith("opt:"))
      .flatMap((n) => members.get(n) ?? [n])
      .filter((n) => !counters.has(n));
    const evalGraph = (opts.evaluation?.(settings) ?? true)
      ? buildEval(
        elaborateTrain(p, model, section, { ...eopts, mode: "eval" }),
        state,
        opts.report?.eval,
      )
      : undefined;
    // Each stage's feature model comes from an eval-mode elaboration of its own (a graph a
    // stage prunes to its value), with that elaboration's name for the value.
    const stages = tr.stages.map((st, i) => {
      const ev = elaborateTrain(p, model, section, { ...eopts, mode: "eval" });
      return { ...st, graph: buildStage(ev, ev.stages[i], state) };
    });
    return {
      step,
      eval: evalGraph,
      stages,
      settings,
      diagnostics: dedupeDiagnostics(diags),
      sources: p.sources,
    };
  } catch (e) {
    if (e instanceof DlmError) {
      return { diagnostics: [...diags, ...e.diagnostics], sources: p.sources };
    }
    throw e;
  }
}

/**
 * The fix of a diagnostic that needs a symbolic dim fixed (`d.needsDim`, "fix it with --dim
 * T=<size>"), when `sizes` proposes its size: every declared type of the model's and the
 * section's inputs and outputs that names the dim gets the size there (the dim stays consistent
 * between them; the model may be declared in an imported file, so the edits may span files).
 */
function withDimFix(
  d: Diagnostic,
  p: Program,
  section: A.TrainDecl,
  sizes: Record<string, number> | undefined,
): Diagnostic {
  const dim = d.needsDim;
  const size = dim === undefined ? undefined : sizes?.[dim];
  const model = p.models.get(section.model);
  if (dim === undefined || size === undefined || !model) return d;
  const edits: FixEdit[] = [];
  for (const s of [...model.body, ...section.body]) {
    if (s.kind !== "input" && s.kind !== "output") continue;
    if (s.type?.kind !== "tensor_type") continue;
    for (const x of s.type.dims) {
      if (x.kind === "name" && x.name === dim) edits.push({ span: x.span, newText: String(size) });
    }
  }
  if (!edits.length) return d;
  return withFix({ ...d, fixes: d.fixes && [...d.fixes] }, {
    title: `Fix ${dim} to ${size} in the ${edits.length > 1 ? "declared types" : "input's type"}`,
    edits,
  });
}

/**
 * Symbolic dims the data fixes: for `input tokens: i64[N, T]` and tokens data of shape
 * [1000, 35], T = 35. The first axis is the batch, which the data does not fix.
 */
function dimsFromData(
  model: A.ModelDecl,
  section: A.TrainDecl,
  shapes: Record<string, readonly number[]>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of [...model.body, ...section.body]) {
    if (s.kind !== "input" || s.type.kind !== "tensor_type") continue;
    const shape = shapes[s.name];
    if (!shape || shape.length !== s.type.dims.length) continue;
    s.type.dims.forEach((d, k) => {
      if (k > 0 && d.kind === "name" && out[d.name] === undefined) out[d.name] = shape[k];
    });
  }
  return out;
}

function pickSection(p: Program, model?: string): A.TrainDecl | Diagnostic {
  const mine = p.main.decls.filter((d): d is A.TrainDecl => d.kind === "train");
  const all = model ? p.trains.filter((t) => t.model === model) : mine;
  if (all.length > 0) return all[0];
  // A model that does not exist is that, not a model without a section (DLM0103 names those
  // there are, as --model does everywhere else).
  if (model && !p.models.has(model)) {
    return error(...diag("DLM0103", model, [...p.models.keys()].join(", ") || "none"));
  }
  // Without --model, the file is what lacks the section: reported at its start.
  return model ? error(...diag("DLM0126", `Model '${model}'`, "")) : error(
    ...diag("DLM0126", p.main.path, " (train Model { loss = ... optimizer = ... })"),
    fileStart(p.main.path),
  );
}

/** The model's parameters and training-updated buffers become inputs whose initial values are the initializers. */
function exposeState(g: Graph, names: string[]): void {
  const have = new Set(g.inputs.map((i) => i.name));
  for (const n of names) {
    if (have.has(n)) continue;
    const t = g.types.get(n);
    if (t) g.inputs.push({ name: n, type: { dtype: t.dtype, shape: [...t.shape] } });
  }
}

function buildStep(
  tr: TrainElabResult,
  section: A.TrainDecl,
  pack: boolean,
  report?: PassReport,
  unroll = false,
): Graph {
  const g = tr.graph;
  // Before the gradients, so that they are built for the trimmed convolutions.
  runPasses(g, beforeGradientsPipeline(), { mode: "train", keepParams: true, report });
  const b = new GraphBuilder(g);
  const trainable = g.params.filter((p) => p.trainable && !p.frozen).map((p) => p.name);
  if (trainable.length === 0) {
    throw new DlmError(
      error(...diag("DLM0701", section.model), section.nameSpan),
    );
  }
  // Only the loss and the metrics leave the step; the model's own outputs are dropped.
  // Phase losses are reported as metrics `metric:<phase>_loss`.
  const phaseLoss = new Map(tr.phases.map((p) => [p.name, p.loss]));
  // The rollout of `updates = minibatches(...)`: the tensors of its `over:`, outputs `rollout:<i>`
  // until here. One that is a graph input (or another output) is an Identity of it, while the loss
  // reads the value itself, which is what the updates slice.
  const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const source = (v: string): string => {
    const n = producer.get(v);
    return n && n.op === "Identity" && !n.domain && n.inputs[0] ? source(n.inputs[0]) : v;
  };
  const rollout = g.outputs.filter((o) => o.name.startsWith("rollout:")).map((o) => source(o.name));
  g.outputs = g.outputs.filter((o) =>
    o.name === "loss" || o.name.startsWith("metric:") || o.name.startsWith("phase:")
  );
  // Batch norms' running statistics (the train-mode nodes' extra outputs are their next values)
  // and num_batches_tracked, one more per application.
  const { buffers, counters } = batchNormState(g);
  exposeState(g, [...trainable, ...buffers.keys(), ...counters.keys()]);
  const step = b.input(STEP_INPUT, { dtype: "i64", shape: [] });
  const sched = scheduleSpec(tr.settings.get("schedule"));
  const clip = clipSpec(tr.settings.get("clip"));
  // One phase (the section's loss and optimizer), or the declared phases in order.
  const phases = tr.phases.length
    ? tr.phases.map((p) => ({
      name: p.name,
      loss: p.loss,
      optimizer: p.optimizer,
      params: p.params,
      span: p.span,
    }))
    : [{
      name: "",
      loss: "loss",
      optimizer: tr.settings.get("optimizer"),
      params: undefined as string | undefined,
      span: section.nameSpan,
    }];
  // One phase and no moving average: small parameters (and the batch norms' counters) may be
  // updated as flat vectors.
  const minibatches = minibatchesSpec(tr.settings.get("updates"), rollout);
  const packing = pack && phases.length === 1 && !phases[0].params && !tr.settings.get("ema") &&
    !minibatches;
  let groupOf = new Map<string, string>();
  let packed = trainable;
  if (packing) {
    const opt = optimizerSpec(phases[0].optimizer, section);
    // Weights read at some kernel taps only are trained on those (pack.ts, tapWindows).
    const windows = tapWindows(g, trainable, (p) => keepsZeros(opt.spec, p));
    const r = packParams(
      b,
      trainable,
      (p) => JSON.stringify(resolveGroup(opt.spec, { name: p })),
      undefined,
      windows,
    );
    packed = r.names;
    groupOf = r.groupOf;
  }
  const updated = new Map<string, string>(); // parameter -> its value after earlier phases
  const updates: { input: string; output: string }[] = [];
  const forward = [...g.nodes];
  if (minibatches) {
    // The elaborator allows no phases with `updates`: one loss, several updates.
    const opt = optimizerSpec(phases[0].optimizer, section);
    const own = packed;
    for (
      const u of (unroll ? minibatchUpdatesUnrolled : minibatchUpdates)(
        b,
        forward,
        phases[0].loss,
        own,
        minibatches,
        {
          step,
          optimizer: opt,
          sched,
          clip,
          span: minibatches.span ?? section.nameSpan,
        },
      )
    ) updates.push(u);
  }
  for (const [k, ph] of (minibatches ? [] : phases).entries()) {
    const re = ph.params ? compileGlob(ph.params) : undefined;
    const own = packed.filter((p) => !re || re.test(p));
    if (own.length === 0) {
      throw new DlmError(
        error(...diag("DLM0703", ph.name, `${ph.params}`), ph.span),
      );
    }
    if (own.some((p) => updated.has(p))) {
      throw new DlmError(
        error(...diag("DLM0702", ph.name), ph.span),
      );
    }
    // A later phase recomputes its loss with the parameters earlier phases updated,
    // without differentiating through those updates.
    const loss = k === 0 ? ph.loss : recompute(b, forward, ph.loss, updated, `${ph.name}@`);
    const grads = buildGradients(b, loss, own, {
      stop: new Set(updated.values()),
      prefix: `grad.${ph.name || "step"}`,
    });
    const opt = optimizerSpec(ph.optimizer, section);
    const lr = buildSchedule(b, sched, step, opt.lr);
    let gradNames = own.map((p) => grads.get(p)!);
    if (clip) gradNames = buildClip(b, clip, gradNames).grads;
    const r = buildOptimizer(
      b,
      opt.spec,
      own.map((name, i) => ({ name, grad: gradNames[i], groupOf: groupOf.get(name) })),
      step,
      lr,
    );
    for (const u of r.updates) {
      updates.push(u);
      if (own.includes(u.input)) updated.set(u.input, u.output);
    }
    if (k > 0) b.output(loss, `metric:${ph.name}_loss`);
  }
  if (phaseLoss.size) {
    // The first phase's loss is `loss`; every phase's loss is also a metric.
    const first = phases[0];
    g.outputs = g.outputs.filter((o) => !o.name.startsWith("phase:"));
    b.output(first.loss, `metric:${first.name}_loss`);
  }
  const outs: [string, string][] = updates.map((u) => [u.output, nextName(u.input)]);
  outs.push(...emaUpdates(b, tr.settings.get("ema"), updates, trainable, section));
  // Running statistics, by PyTorch's rule: one chain for all where packed, else (and for a layer
  // applied more than once) each batch norm's own.
  const stats = packing ? packRunningStatistics(b) : undefined;
  updateRunningStatistics(b);
  if (stats) outs.push(...stats.outs);
  for (const [input, value] of buffers) {
    if (!stats?.packed.has(input)) outs.push([value, nextName(input)]);
  }
  for (const [value, input] of countBatches(b, counters, packing)) {
    outs.push([value, nextName(input)]);
  }
  const [next] = b.addNode("Add", [
    step,
    b.initializer("step.one", { dtype: "i64", shape: [], data: new BigInt64Array([1n]) }),
  ]);
  outs.push([next, nextName(STEP_INPUT)]);
  for (const [value, name] of outs) {
    // A value may feed two outputs (a parameter that does not change): each gets its own name.
    b.output(value, name);
  }
  runPasses(g, trainStepPipeline(), { mode: "train", keepParams: true, report });
  // Packed, each batch norm's statistics and normalisation become one train-mode node (after cse,
  // which merged the forward's statistics with the gradient's), and dce drops what they replace.
  if (stats && fuseBatchStatistics(new GraphBuilder(g), stats.slots) > 0) {
    runPasses(g, [dce], { mode: "train", keepParams: true, report });
  }
  return g;
}

/**
 * `ema = moving_average(target: "key", source: "query", decay: 0.999)`:
 * every parameter under `target` tracks its twin under `source` (MoCo's
 * momentum encoder): next = decay * target + (1 - decay) * source, with
 * the source's value after this step's update. Target parameters must be
 * frozen (they are not trained by gradients).
 */
function emaUpdates(
  b: GraphBuilder,
  v: Value | undefined,
  updates: { input: string; output: string }[],
  trainable: string[],
  section: A.TrainDecl,
): [string, string][] {
  if (!v || v.k !== "spec" || v.kind !== "moving_average") return [];
  const str = (x: Value | undefined) => (x?.k === "str" ? x.v : undefined);
  const target = str(v.args.target), source = str(v.args.source);
  const decay = num(v.args.decay) ?? argDefault(MOVING_AVERAGE, "decay");
  if (!target || !source) {
    throw new DlmError(
      error(
        ...diag("DLM0223", "moving_average()", "target: and source: (label prefixes)"),
        spanOf(v, section),
      ),
    );
  }
  const g = b.graph;
  const newValue = new Map(updates.map((u) => [u.input, u.output]));
  const out: [string, string][] = [];
  const d = b.initializer("ema.decay", {
    dtype: "f32",
    shape: [],
    data: new Float32Array([decay]),
  });
  const e = b.initializer("ema.rest", {
    dtype: "f32",
    shape: [],
    data: new Float32Array([1 - decay]),
  });
  for (const p of g.params) {
    if (!p.name.startsWith(target + ".")) continue;
    const src = source + p.name.slice(target.length);
    const tt = g.types.get(p.name), st = g.types.get(src);
    if (!st || !tt || tt.shape.join() !== st.shape.join()) {
      throw new DlmError(
        error(
          ...diag(
            "DLM0203",
            "moving_average()",
            `a twin ${src} of ${p.name}'s shape`,
            st ? formatType(st) : "none",
          ),
          spanOf(v, section),
        ),
      );
    }
    if (trainable.includes(p.name)) {
      throw new DlmError(
        error(...diag("DLM0704", p.name, target), spanOf(v, section)),
      );
    }
    exposeState(g, [p.name]);
    const [a] = b.addNode("Mul", [p.name, d]);
    const [c] = b.addNode("Mul", [newValue.get(src) ?? src, e]);
    const [n] = b.addNode("Add", [a, c]);
    out.push([n, nextName(p.name)]);
  }
  if (out.length === 0) {
    throw new DlmError(
      error(
        ...diag(
          "DLM0215",
          `moving_average(target: "${target}")`,
          `parameter named ${target}.*`,
          "",
        ),
        spanOf(v, section),
      ),
    );
  }
  return out;
}

function buildEval(ev: TrainElabResult, state: string[], report?: PassReport): Graph {
  const g = ev.graph;
  exposeState(g, state);
  runPasses(g, inferencePipeline("eval"), { mode: "eval", keepParams: true, report });
  return g;
}

function buildStage(ev: TrainElabResult, st: TrainStage, state: string[]): Graph {
  const g = ev.graph;
  const out = `stage:${st.input}`;
  g.nodes.push({
    name: out,
    op: "Identity",
    inputs: [st.source],
    outputs: [out],
    attrs: {},
    spans: [st.span],
  });
  g.types.set(out, g.types.get(st.source)!);
  g.outputs = [{ name: out, type: g.types.get(out)! }];
  exposeState(g, state);
  runPasses(g, inferencePipeline("eval"), { mode: "eval", keepParams: true });
  // Inputs the value does not read (the section's targets, the stage's own input) are dropped:
  // the stage runs before the data they come from exists.
  const read = new Set(g.nodes.flatMap((n) => n.inputs));
  g.inputs = g.inputs.filter((i) => read.has(i.name) || g.outputs.some((o) => o.name === i.name));
  return g;
}

function num(v: Value | undefined): number | undefined {
  return v && (v.k === "int" || v.k === "float") ? v.v : undefined;
}

/** Where an error about setting `v` belongs: its call, else the section's name. */
function spanOf(v: Value | undefined, section: A.TrainDecl): Span {
  return (v?.k === "spec" ? v.span : undefined) ?? section.nameSpan;
}

/**
 * The builder spec of a setting: each declared argument the call gives, set
 * on its builder field (defaults are applied by the builders, from the same
 * declarations).
 */
function fieldsOf(
  args: Record<string, Value>,
  decl: readonly SettingArg[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of decl) {
    if (!d.name || !d.field) continue;
    const v = args[d.name];
    out[d.field] = d.type === "bool" ? (v?.k === "bool" ? v.v : undefined) : num(v);
  }
  return out;
}

function optimizerSpec(
  v: Value | undefined,
  section: A.TrainDecl,
): { spec: OptimizerSpec; lr: number } {
  const rule = v?.k === "spec" ? optimizerRule(v.kind) : undefined;
  if (!v || v.k !== "spec" || !rule) {
    const [first, ...others] = OPTIMIZERS.map((r) => r.name);
    throw new DlmError(
      error(
        ...diag(
          "DLM0223",
          `train ${section.model}`,
          `an optimizer: optimizer = ${first}(lr: 0.1) (or ${others.join(", ")})`,
        ),
        spanOf(v, section),
      ),
    );
  }
  const a = v.args;
  const lr = num(a.lr) ?? argDefault(rule, "lr");
  const spec = { kind: rule.name, ...fieldsOf(a, rule.args) } as OptimizerSpec;
  if (a.no_decay?.k === "str") {
    spec.groups = [{ params: a.no_decay.v, overrides: { weightDecay: 0 } }];
  }
  return { spec, lr };
}

function scheduleSpec(v: Value | undefined): ScheduleSpec {
  const rule = v?.k === "spec" ? scheduleRule(v.kind) : undefined;
  if (!v || v.k !== "spec" || !rule || rule.name !== v.kind) return { kind: "constant" };
  const warm = num(v.args.warmup);
  const warmup = warm ? { steps: warm } : undefined;
  return { kind: rule.kind, ...fieldsOf(v.args, rule.args), warmup } as ScheduleSpec;
}

function clipSpec(v: Value | undefined): ClipSpec | undefined {
  const rule = v?.k === "spec" ? clipRule(v.kind) : undefined;
  if (!v || v.k !== "spec" || !rule || rule.name !== v.kind) return undefined;
  return withDefaults(rule, { kind: rule.kind, ...fieldsOf(v.args, rule.args) }) as ClipSpec;
}

function readSettings(tr: TrainElabResult, section: A.TrainDecl): TrainSettings {
  const s = tr.settings;
  const str = (v: Value | undefined) => (v?.k === "str" ? v.v : undefined);
  const sched = s.get("schedule");
  const length = sched?.k === "spec" ? scheduleLength(sched.kind, sched.args) : undefined;
  return {
    schedule: length && { ...length, span: spanOf(sched, section) },
    epochs: num(s.get("epochs")),
    batchSize: num(s.get("batch_size")),
    dropLast: s.get("drop_last")?.k === "bool"
      ? (s.get("drop_last") as { v: boolean }).v
      : undefined,
    valSplit: num(s.get("val_split")),
    trainSamples: num(s.get("train_samples")),
    earlyStop: str(s.get("early_stop")),
    patience: num(s.get("patience")),
    metrics: tr.metrics,
  };
}
