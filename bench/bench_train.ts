/**
 * The training benchmark (issues 4 and 19). Three parts:
 *
 * 1. Step vs forward: for MLP and LeNet on the digits set (batch 32), the benchmark models of
 *    bench/train_models.ts (ResNet-18, MobileNetV2, ShuffleNetV2, ResNeXt-50 32x4d,
 *    EfficientNet-B0, DenseNet-121 and ConvNeXt-Tiny at 32x32, batch 16; a 4-layer GPT-2, batch 8
 *    of 64 tokens), ResNet-18 at batch 32 and its CIFAR variant: the onnxruntime-node time of
 *    one training step (as `dlm train` runs it, 8 per run, and one per run) against one forward
 *    pass of the evaluation model on the same batch (each kind timed in a process of its own, in
 *    rounds; medians), their ratio (target <= 4x: a step does about 3x the work of a forward) and
 *    the ratio of the fastest runs, dlm's session creation time for each, and the reference
 *    interpreter's step time.
 * 2. Start-up and PyTorch, per benchmark model: the forward's (as `dlm compile` writes it) and the
 *    step's (`dlm compile --train --pack-params`) node counts and their ratio (target <= 8x); the
 *    step's session creation and step time at each onnxruntime optimisation level (a level that
 *    times out skips the higher ones); when the CLI has an optimised-model cache (`--no-cache` in
 *    `dlm train --help` and `dlm run --help`), dlm's own session cold (a fresh cache directory)
 *    and warm; PyTorch eager's step time in the same run with onnxruntime's thread count
 *    (bench/torch_train_ratio.py, torch.set_num_threads), and dlm's step over it (target
 *    <= 0.75x for ResNet-18 and MobileNetV2); and `dlm train`'s whole process to the end of its
 *    first step (one batch of synthetic data, one epoch) next to `dlm run`'s whole process on the
 *    same model and batch (target <= 5x cold, <= 2x with a warm cache).
 * 3. End to end: `dlm train lang-examples/lenet_digits.dlm --data digits` and its validation
 *    accuracy (target >= 97% in under a minute).
 *
 * Every measurement that loads a model runs in a child process with a time limit (--timeout,
 * default 120 s): MobileNetV2's step took 716 s to load at onnxruntime's "all" level when this
 * was written. A child that outlives it is killed and recorded as timed out, and the rounds of
 * that kind (or the higher levels) are skipped. Writes bench/results_train.json (version 2: the
 * rows of part 1 as before, with a status per kind and optional timings; `models` for part 2);
 * with --only, bench/results_train_only.json.
 *
 *   deno task bench:train [--quick] [--only NAME] [--timeout S] [--skip PARTS]
 *   deno task bench:train --step-ratio [--rounds R] [--threads T]
 *
 * --only times the cases whose name contains NAME (and skips the end-to-end run); --skip takes a
 * comma-separated list of parts to leave out (steps, startup, e2e). --step-ratio measures only
 * the step time of ResNet-18 and MobileNetV2 (32x32, batch 16) against PyTorch eager's, in R
 * rounds (default 5) that each time dlm's step (a process of its own, 8 steps per run as `dlm
 * train` runs them) and then PyTorch's (bench/torch_train_ratio.py), both with T threads
 * (default onnxruntime's DEFAULT_THREADS: its intra-op threads, torch.set_num_threads), and
 * writes bench/results_train_ratio.json: the figure of the "step <= 0.75x PyTorch" target, for an
 * idle machine. Timings on a shared machine
 * are noisy: the report prints the load average. Whether the benchmark models compute what
 * torchvision's do is `deno task bench:parity`'s (bench/parity_train.ts).
 */
import type { Tensor } from "../compiler/ir/tensor.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { unpackValues } from "../compiler/train/pack.ts";
import { multiStep } from "../compiler/train/multistep.ts";
import { stack } from "../runtime/reference/kernels/stack_util.ts";
import { initialState, type LoadedModel, loadModel, openRunner } from "../runtime/train/mod.ts";
import { Dataset, digitsFit, loadDigits } from "../runtime/data/mod.ts";
import { prepareInputs } from "../runtime/inputs.ts";
import { writeFileAtomic } from "../runtime/fs.ts";
import { readSafetensors, writeNpy, writeSafetensors } from "../runtime/formats/mod.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { DEFAULT_THREADS } from "../runtime/ort/node.ts";
import { buildGraph } from "../cli/pipeline.ts";
import { type ChildResult, lastJsonLine, runChild, tail } from "./child.ts";
import { formatMachineFacts, machineFacts } from "./machine.ts";
import { isLevel, type Level, LEVELS, sessionAtLevel } from "./ort_level.ts";
import { parseOptions } from "./options.ts";
import { summarize, type Timing } from "./stats.ts";
import { formatTable, ms } from "./table.ts";
import { TRAIN_MODELS, type TrainModel } from "./train_models.ts";
import {
  type CliFeatures,
  cliFeatures,
  lastValAccuracy,
  type LevelResult,
  type Measured,
  medianMeasured,
  type ModelReport,
  nextLevelPlan,
  roundRatios,
  startupTables,
  worthAnotherRound,
} from "./train_report.ts";

const root = new URL("../", import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
const WORK = "/tmp/dlm-bench/train";
const PYTHON = "/usr/bin/python3";
/** Steps per run, as `dlm train` runs them by default. */
const STEPS_PER_RUN = 8;

const USAGE = `Usage: deno task bench:train [options]

  --quick        fewer runs (1 round of 5; 1 run per level; 3 PyTorch runs)
  --only NAME    the cases whose name contains NAME (and no end-to-end run)
  --timeout S    time limit of each child process that loads a model, seconds (default 120)
  --skip PARTS   leave out parts: steps, startup, e2e (comma-separated)
  --step-ratio   only the step time of ResNet-18 and MobileNetV2 against PyTorch eager's,
                 interleaved in rounds, equal thread counts
  --rounds R     rounds of --step-ratio (default 5)
  --process-rounds R
                 rounds of the whole-process times (dlm train and dlm run, cold and warm;
                 default 3, --quick 1): the medians and each ratio's range over rounds
  --threads T    threads of both sides in --step-ratio (default ${DEFAULT_THREADS})
  --help         this text`;

interface Case {
  name: string;
  file: string;
  batch: number;
  /** Timed step/forward pairs (small models are cheap to time often; medians need many). */
  runs: number;
  /** Reference interpreter step runs. */
  refRuns: number;
  /** The train section's model, when the file has several. */
  model?: string;
  /** Sizes of symbolic dims other than the batch N. */
  dims?: Record<string, number>;
}

const RUNS: Record<string, { runs: number; refRuns: number }> = {
  "resnet18 32x32": { runs: 25, refRuns: 2 },
  "mobilenet_v2 32x32": { runs: 25, refRuns: 1 },
  "shufflenet_v2 32x32": { runs: 25, refRuns: 1 },
  "resnext50 32x32": { runs: 10, refRuns: 1 },
  "efficientnet_b0 32x32": { runs: 25, refRuns: 1 },
  "densenet121 32x32": { runs: 10, refRuns: 1 },
  "convnext_tiny 32x32": { runs: 10, refRuns: 1 },
  "gpt2 mini T=64": { runs: 40, refRuns: 1 },
};

const CASES: Case[] = [
  { name: "mlp_digits", file: "lang-examples/mlp_digits.dlm", batch: 32, runs: 400, refRuns: 10 },
  {
    name: "lenet_digits",
    file: "lang-examples/lenet_digits.dlm",
    batch: 32,
    runs: 200,
    refRuns: 5,
  },
  ...TRAIN_MODELS.map((m) => ({ ...m, ...(RUNS[m.name] ?? { runs: 10, refRuns: 1 }) })),
  // The batch the other models use: per-image work grows, the weight-sized work does not.
  {
    name: "resnet18 32x32",
    file: "bench/resnet18_train.dlm",
    model: "ResNet18Small",
    batch: 32,
    runs: 15,
    refRuns: 1,
  },
  // The CIFAR stem (3x3, stride 1, no max pool): the usual way to train on 32x32 images.
  {
    name: "resnet18 cifar",
    file: "bench/resnet18_train.dlm",
    model: "ResNet18Cifar",
    batch: 16,
    runs: 10,
    refRuns: 1,
  },
];

/** One batch: the first of the digits set when the model reads image/label f32[N,64]/i64[N], else random. */
function batchOf(
  m: LoadedModel,
  state: Map<string, Tensor>,
  size: number,
  dims: Record<string, number> = {},
): Record<string, Tensor> {
  const names = m.inputNames.filter((n) => !state.has(n));
  if (digitsFit(m.graph, names)) {
    const d = new Dataset(loadDigits());
    const b = d.batches(size, { shuffle: false }).next().value!;
    return Object.fromEntries(names.map((n) => [n, b.arrays[n]]));
  }
  const sub = { ...m.graph, inputs: m.graph.inputs.filter((i) => names.includes(i.name)) };
  return prepareInputs(sub, { seed: 0, dims: { N: size, ...dims } });
}

/** What a timing child runs: `dlm train`'s several steps per run, one step per run, a forward. */
type Kind = "multi" | "single" | "forward";
const KINDS: Kind[] = ["multi", "single", "forward"];
/** Where a child runs a model: dlm's own onnxruntime-node session, a given level, the reference. */
type SessionKind = "dlm" | "reference" | Level;

/** A case compiled once, its models and feeds written to `dir` for the children to load. */
interface Prepared {
  dir: string;
  /** Trainable parameter count: the sizes of the tensors that have an optimiser update. */
  params: number;
  /** compileTrain of the train section, ms. */
  compileMs: number;
  /** Nodes of the step (one step per run) and of the evaluation model (forward with the loss). */
  stepNodes: number;
  evalNodes: number;
}

const slug = (c: Case) => `${c.name.replace(/[^A-Za-z0-9]+/g, "_")}_b${c.batch}`;

function prepare(c: Case): Prepared {
  const dir = `${WORK}/${slug(c)}`;
  Deno.mkdirSync(`${dir}/data`, { recursive: true });
  const t0 = performance.now();
  // Compiled as `dlm train` compiles it: small parameters packed.
  const compiled = compileTrain(root + c.file, { pack: true, model: c.model, dims: c.dims });
  if (!compiled.step || !compiled.eval) {
    throw new Error(`${c.file}: ${compiled.diagnostics.map((d) => d.message).join("; ")}`);
  }
  const step = loadModel(compiled.step, "step model");
  const evalModel = loadModel(compiled.eval, "evaluation model");
  const compileMs = performance.now() - t0;
  const state = initialState(step);
  const batch = batchOf(step, state, c.batch, c.dims);
  const named = unpackValues(step.packs, state, step.defaults);
  const evalFeeds: Record<string, Tensor> = {};
  for (const n of evalModel.inputNames) {
    const t = batch[n] ?? named.get(n) ?? evalModel.defaults.get(n);
    if (!t) throw new Error(`no value for evaluation input '${n}'`);
    evalFeeds[n] = t;
  }
  // `dlm train` runs STEPS_PER_RUN steps per run, on stacked batches.
  const multi = loadModel(multiStep(compiled.step), "multi-step model");
  const multiFeeds: Record<string, Tensor> = { ...Object.fromEntries(state) };
  for (const [k, t] of Object.entries(batch)) {
    multiFeeds[k] = stack(Array(STEPS_PER_RUN).fill(t), 0);
  }
  const write = (kind: Kind, m: LoadedModel, feeds: Record<string, Tensor>) => {
    writeFileAtomic(`${dir}/${kind}.onnx`, m.bytes);
    writeFileAtomic(`${dir}/${kind}.safetensors`, writeSafetensors(Object.entries(feeds)));
  };
  write("single", step, { ...Object.fromEntries(state), ...batch });
  write("multi", multi, multiFeeds);
  write("forward", evalModel, evalFeeds);
  // The batch as `dlm train --data NAME=PATH.npy` reads it.
  for (const [k, t] of Object.entries(batch)) writeFileAtomic(`${dir}/data/${k}.npy`, writeNpy(t));
  let params = 0;
  const initial = unpackValues(step.packs, step.defaults, step.defaults);
  for (const p of compiled.step.params) {
    if (!p.trainable || p.frozen) continue;
    const t = initial.get(p.name);
    if (t) params += t.data.length;
  }
  return {
    dir,
    params,
    compileMs,
    // As `dlm compile --train --pack-params` and `--eval` count them.
    stepNodes: compiled.step.nodes.length,
    evalNodes: compiled.eval.nodes.length,
  };
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** What a timing child prints. */
interface ChildTimes {
  /** Session creation, ms. */
  createMs: number;
  /** Per-step (per-run for a forward) times of the timed runs, ms. */
  runs: number[];
}

/**
 * A timing child: `runs` timed runs of one kind, after `warmup` untimed ones, on a session of
 * `session`'s kind; prints its session creation time and the per-step times (ms) as JSON. Each
 * kind runs in a process of its own, as training and inference do: with two sessions in one
 * process, the idle one's spinning worker threads take a core from the other (LeNet's step
 * measured 2.2 against 1.4 ms here), and a pause after a block does not end that reliably.
 */
async function timingChild(
  dir: string,
  kind: Kind,
  session: SessionKind,
  runs: number,
  warmup: number,
  threads?: number,
) {
  const path = `${dir}/${kind}.onnx`;
  const bytes = Deno.readFileSync(path);
  const feeds = Object.fromEntries(
    readSafetensors(Deno.readFileSync(`${dir}/${kind}.safetensors`), path).tensors,
  );
  const per = kind === "multi" ? STEPS_PER_RUN : 1;
  let stateBytes = 0;
  for (const t of Object.values(feeds)) stateBytes += t.data.length * 4;
  // A step that outputs tens of MB (ResNet-18: 89 MB of parameters and momentum) leaves that
  // much garbage per run; collected inside a timed run, it costs tens of ms of JavaScript heap
  // work that is not onnxruntime's. Such cases collect before every timed run (step and
  // forward alike). Small models do not: a run right after a forced collection is several
  // times slower (0.5 against 0.1 ms for mlp_digits), which no training loop sees.
  const collect = stateBytes > 8e6 ? gc : () => {};
  const reference = session === "reference" ? loadModel(bytes, kind) : undefined;
  const t0 = performance.now();
  let r: {
    run(f: Record<string, Tensor>, into?: Record<string, Tensor>): Promise<unknown>;
    release(): Promise<void>;
  };
  if (reference) r = await openRunner(reference, "reference");
  else if (session === "dlm") {
    // As the training loop runs it (runtime/train/loop.ts): at the level dlm picks for a step
    // (a forward model's "all" was measured for steps too until 2026-12-07), the state outputs
    // into the buffers of the state before.
    const s = await createSession(bytes, {
      threads,
      kind: kind === "forward" ? "forward" : "step",
    });
    r = { run: (f, into) => s.run(f, undefined, into), release: () => s.release() };
  } else {
    const s = await sessionAtLevel(bytes, session as Level);
    r = { run: (f) => s.run(f), release: () => s.release() };
  }
  const createMs = performance.now() - t0;
  const out: number[] = [];
  let into: Record<string, Tensor> | undefined;
  try {
    for (let i = 0; i < warmup + runs; i++) {
      collect();
      const t1 = performance.now();
      const o = await r.run(feeds, into) as Record<string, Tensor>;
      into = Object.fromEntries(Object.entries(o).filter(([k]) => k.startsWith("next:")));
      if (i >= warmup) out.push((performance.now() - t1) / per);
    }
  } finally {
    await r.release();
  }
  console.log(JSON.stringify({ createMs, runs: out } satisfies ChildTimes));
}

/** A child's outcome as a measurement (of its own wall time) plus what it printed. */
function measured(r: ChildResult, limitMs: number): Measured {
  if (r.status === "ok") return { status: "ok", ms: r.ms };
  if (r.status === "timed out") return { status: "timed out", limitMs };
  return { status: "failed", error: tail(r.stderr) };
}

/** Run a timing child with the time limit. */
async function timeInChild(
  dir: string,
  kind: Kind,
  session: SessionKind,
  runs: number,
  warmup: number,
  env?: Record<string, string>,
  threads?: number,
): Promise<{ result: Measured; times?: ChildTimes }> {
  const r = await runChild(Deno.execPath(), [
    "run",
    "-A",
    "--v8-flags=--expose-gc",
    SELF,
    "--child",
    dir,
    kind,
    session,
    String(runs),
    String(warmup),
    ...(threads ? [String(threads)] : []),
  ], { cwd: root, timeoutMs, env });
  const result = measured(r, timeoutMs);
  if (result.status === "failed") console.error(`  ${kind} (${session}) failed:\n${result.error}`);
  return { result, times: r.status === "ok" ? lastJsonLine<ChildTimes>(r.stdout) : undefined };
}

type Status = Measured["status"];

interface Row {
  model: string;
  batch: number;
  params: number;
  /** How each kind's children ended (a kind that timed out has no timings). */
  status: Record<Kind | "reference", Status>;
  /** Per step, as `dlm train` runs them: 8 steps per run (compiler/train/multistep.ts). */
  stepMs?: Timing;
  /** One step per run. */
  singleStepMs?: Timing;
  forwardMs?: Timing;
  ratio?: number;
  /** Fastest step over fastest forward: what the machine's noise (10-40% between runs here) touches least. */
  ratioOfMinima?: number;
  referenceStepMs?: Timing;
  /** dlm's session creation (its default onnxruntime level), ms, over the timing children. */
  sessionMs: Partial<Record<Kind, Timing>>;
}

async function benchCase(c: Case, p: Prepared): Promise<Row> {
  const runs = quick ? 5 : c.runs;
  // Rounds of one process per kind in turn, so drift in machine load hits all kinds alike. A
  // multi-step run is STEPS_PER_RUN steps: 2 of them for every 5 single steps or forwards.
  const rounds = quick ? 1 : 3;
  const timings: Record<Kind, number[]> = { multi: [], single: [], forward: [] };
  const created: Record<Kind, number[]> = { multi: [], single: [], forward: [] };
  const results: Record<Kind, Measured[]> = { multi: [], single: [], forward: [] };
  for (let i = 0; i < rounds; i++) {
    for (const kind of KINDS) {
      // A kind that timed out once would time out again: its later rounds are skipped.
      if (!worthAnotherRound(results[kind])) continue;
      const n = Math.ceil((kind === "multi" ? runs * 2 / 5 : runs) / rounds);
      // Untimed first runs: a session's first runs plan its memory and warm its threads.
      const warmup = Math.max(2, Math.ceil(n / 10));
      const { result, times } = await timeInChild(p.dir, kind, "dlm", n, warmup);
      results[kind].push(result);
      if (times) {
        timings[kind].push(...times.runs);
        created[kind].push(times.createMs);
      }
    }
  }
  const status = (kind: Kind): Status =>
    results[kind].find((r) => r.status !== "ok")?.status ?? "ok";
  const ref = await timeInChild(p.dir, "single", "reference", quick ? 1 : c.refRuns, 0);
  const sum = (xs: number[]) => (xs.length ? summarize(xs) : undefined);
  const stepMs = sum(timings.multi), forwardMs = sum(timings.forward);
  const sessionMs: Partial<Record<Kind, Timing>> = {};
  for (const k of KINDS) if (created[k].length) sessionMs[k] = summarize(created[k]);
  return {
    model: c.name,
    batch: c.batch,
    params: p.params,
    status: {
      multi: status("multi"),
      single: status("single"),
      forward: status("forward"),
      reference: ref.result.status,
    },
    stepMs,
    singleStepMs: sum(timings.single),
    forwardMs,
    ratio: stepMs && forwardMs ? stepMs.median / forwardMs.median : undefined,
    ratioOfMinima: stepMs && forwardMs ? stepMs.min / forwardMs.min : undefined,
    referenceStepMs: ref.times ? summarize(ref.times.runs) : undefined,
    sessionMs,
  };
}

/** A cell of a timing that may be missing because its children timed out or failed. */
function timingCell(t: Timing | undefined, s: Status): string {
  return t ? ms(t.median) : s === "timed out" ? `timed out (>${timeoutMs / 1000} s)` : s;
}

// ---------------------------------------------------------------- part 2: start-up and PyTorch

/** The forward model's node count as `dlm compile FILE --model M` reports it (after its passes). */
function forwardNodes(m: TrainModel): number {
  return buildGraph(root + m.file, { model: m.model }).graph.nodes.length;
}

let denoDir: string | undefined;
const cacheDirs: string[] = [];
/**
 * An environment whose model caches are empty (a fresh directory), Deno's own cache kept, and
 * the CLI's code cache (cli/code_cache.ts) as earlier runs of dlm left it: a user's first
 * `dlm train` of a new file finds dlm's own code cached already, which happens once per
 * version of dlm, not once per model.
 */
function coldEnv(features: CliFeatures): Record<string, string> {
  denoDir ??= JSON.parse(
    new TextDecoder().decode(
      new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).outputSync().stdout,
    ),
  ).denoDir as string;
  const dir = Deno.makeTempDirSync({ prefix: "dlm-bench-cache-" });
  cacheDirs.push(dir);
  const env: Record<string, string> = { DENO_DIR: denoDir, XDG_CACHE_HOME: dir };
  for (const v of features.cacheEnv) env[v] = `${dir}/dlm`;
  const seed = cliCodeCache(features);
  Deno.mkdirSync(`${dir}/dlm/cli`, { recursive: true });
  for (const e of Deno.readDirSync(seed)) {
    if (e.isFile) Deno.copyFileSync(`${seed}/${e.name}`, `${dir}/dlm/cli/${e.name}`);
  }
  return env;
}

let cliSeed: string | undefined;
/**
 * The CLI's code cache after three runs each of `dlm run` and `dlm train` (the runs that write
 * it: code_cache.ts's REFRESH_RUNS) on small models, in a directory of its own, made once.
 */
function cliCodeCache(features: CliFeatures): string {
  if (cliSeed) return cliSeed;
  const dir = Deno.makeTempDirSync({ prefix: "dlm-bench-cli-" });
  cacheDirs.push(dir);
  const env: Record<string, string> = { DENO_DIR: denoDir!, XDG_CACHE_HOME: dir };
  for (const v of features.cacheEnv) env[v] = `${dir}/dlm`;
  const runs = [
    ["run", "lang-examples/mlp.dlm", "--dim", "N=2"],
    [
      "train",
      "lang-examples/lenet_digits.dlm",
      "--data",
      "digits",
      "--epochs",
      "1",
      "--train-samples",
      "64",
    ],
  ];
  for (let i = 0; i < 3; i++) {
    for (const args of runs) {
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "cli/main.ts", ...args],
        cwd: root,
        env,
        stdout: "null",
        stderr: "null",
      }).outputSync();
    }
  }
  cliSeed = `${dir}/dlm/cli`;
  // A CLI without a code cache leaves no folder: nothing to copy.
  Deno.mkdirSync(cliSeed, { recursive: true });
  return cliSeed;
}

async function torchStep(
  m: TrainModel,
  threads = DEFAULT_THREADS,
  runs = quick ? 3 : RUNS[m.name]?.runs ?? 10,
): Promise<ModelReport["torch"]> {
  if (!m.torch) return { result: { status: "skipped", reason: "no PyTorch twin" } };
  const r = await runChild(PYTHON, [
    root + "bench/torch_train_ratio.py",
    "--model",
    m.torch,
    "--batch",
    String(m.batch),
    "--threads",
    String(threads),
    "--runs",
    String(runs),
    "--json",
  ], { cwd: root, timeoutMs: timeoutMs * 4 });
  const result = measured(r, timeoutMs * 4);
  if (r.status !== "ok") {
    if (result.status === "failed") console.error(`  PyTorch failed:\n${result.error}`);
    return { result };
  }
  const j = lastJsonLine<{ stepMs: number[]; forwardMs: number[]; threads: number }>(r.stdout);
  return {
    result,
    stepMs: summarize(j.stepMs),
    forwardMs: summarize(j.forwardMs),
    threads: j.threads,
  };
}

/** `dlm train` (one batch, one epoch: one step) or `dlm run` of a model, whole process. */
async function processTime(
  what: "train" | "run",
  m: TrainModel,
  p: Prepared,
  env?: Record<string, string>,
): Promise<Measured> {
  const dims = Object.entries(m.dims ?? {}).flatMap(([k, v]) => ["--dim", `${k}=${v}`]);
  const args = what === "train"
    ? [
      "train",
      m.file,
      "--model",
      m.model,
      ...[...Deno.readDirSync(`${p.dir}/data`)].flatMap((e) => [
        "--data",
        `${e.name.replace(/\.npy$/, "")}=${p.dir}/data/${e.name}`,
      ]),
      "--epochs",
      "1",
      "--batch-size",
      String(m.batch),
    ]
    : ["run", m.file, "--model", m.model, "--dim", `N=${m.batch}`, ...dims];
  const r = await runChild(Deno.execPath(), ["run", "-A", "cli/main.ts", ...args], {
    cwd: root,
    timeoutMs,
    env,
  });
  const out = measured(r, timeoutMs);
  if (out.status === "failed") console.error(`  dlm ${what} failed:\n${out.error}`);
  return out;
}

async function benchModel(
  m: TrainModel,
  p: Prepared,
  row: Row | undefined,
  features: CliFeatures,
): Promise<ModelReport> {
  const fwd = forwardNodes(m);
  const levels: Partial<Record<Level, LevelResult>> = {};
  const done: Measured[] = [];
  for (const level of LEVELS) {
    const plan = nextLevelPlan(done);
    if (plan !== "measure") {
      levels[level] = { create: { status: "skipped", reason: plan.skip } };
      continue;
    }
    console.error(`  ${m.name}: session at level ${level}`);
    const { result, times } = await timeInChild(p.dir, "single", level, quick ? 1 : 3, 1);
    done.push(result);
    levels[level] = {
      create: times ? { status: "ok", ms: times.createMs } : result,
      stepMs: times ? summarize(times.runs) : undefined,
    };
  }
  let dlmSession: ModelReport["dlmSession"];
  let trainWarm: Measured | undefined, runWarm: Measured | undefined;
  const env = features.cache ? coldEnv(features) : undefined;
  if (features.cache) {
    // The same fresh cache directory twice: the first session fills it, the second reads it.
    const session = async () => {
      const { result, times } = await timeInChild(p.dir, "single", "dlm", 1, 0, env);
      return times ? { status: "ok", ms: times.createMs } as Measured : result;
    };
    const cold = await session();
    dlmSession = { cold, warm: await session() };
  }
  console.error(`  ${m.name}: PyTorch`);
  const torch = await torchStep(m);
  console.error(`  ${m.name}: dlm train (1 step) and dlm run, whole processes`);
  // Rounds of the four in turn, each round's cold runs with fresh cache folders: a ratio's range
  // over rounds, not one pair of processes on a noisy machine.
  const got: Record<"train" | "run" | "trainWarm" | "runWarm", Measured[]> = {
    train: [],
    run: [],
    trainWarm: [],
    runWarm: [],
  };
  for (let round = 0; round < processRounds; round++) {
    const trainEnv = features.cache ? coldEnv(features) : undefined;
    got.train.push(await processTime("train", m, p, trainEnv));
    const runEnv = features.cache ? coldEnv(features) : undefined;
    got.run.push(await processTime("run", m, p, runEnv));
    if (features.cache) {
      got.trainWarm.push(await processTime("train", m, p, trainEnv));
      got.runWarm.push(await processTime("run", m, p, runEnv));
    }
  }
  const train = medianMeasured(got.train), run = medianMeasured(got.run);
  if (features.cache) {
    trainWarm = medianMeasured(got.trainWarm);
    runWarm = medianMeasured(got.runWarm);
  }
  const ratios = {
    cold: roundRatios(got.train, got.run),
    warm: features.cache ? roundRatios(got.trainWarm, got.runWarm) : [],
  };
  const stepMs = row?.stepMs?.median;
  return {
    model: m.name,
    file: m.file,
    batch: m.batch,
    nodes: {
      forward: fwd,
      evaluation: p.evalNodes,
      step: p.stepNodes,
      stepOverForward: p.stepNodes / fwd,
    },
    compileMs: p.compileMs,
    levels,
    dlmSession,
    stepMs,
    torch,
    stepOverTorch: stepMs !== undefined && torch.stepMs ? stepMs / torch.stepMs.median : undefined,
    process: { train, run, trainWarm, runWarm, ratios },
  };
}

/** `dlm train lang-examples/lenet_digits.dlm --data digits`, end to end, as a user runs it. */
async function endToEnd(): Promise<{ seconds: number; valAccuracy?: number; output: string }> {
  const r = await runChild(Deno.execPath(), [
    "run",
    "-A",
    "cli/main.ts",
    "train",
    "lang-examples/lenet_digits.dlm",
    "--data",
    "digits",
  ], { cwd: root, timeoutMs: timeoutMs * 5 });
  const text = r.stdout + r.stderr;
  if (r.status !== "ok") throw new Error(`dlm train ${r.status}:\n${tail(text)}`);
  return { seconds: r.ms / 1000, valAccuracy: lastValAccuracy(text), output: tail(text, 4) };
}

// ---------------------------------------------------------------- --step-ratio

/** The models of the "step <= 0.75x PyTorch eager" target. */
const RATIO_MODELS = ["resnet18 32x32", "mobilenet_v2 32x32"];

/**
 * dlm's step time (8 steps per run, as `dlm train` runs them) against PyTorch eager's for the
 * RATIO_MODELS, both with `threads` threads, interleaved: each of `rounds` rounds times dlm in a
 * process of its own and then PyTorch, so that drift in the machine's load reaches both alike.
 * Prints a table and writes bench/results_train_ratio.json.
 */
async function stepRatio(rounds: number, threads: number): Promise<void> {
  const runs = 10, warmup = 2;
  console.log(
    `\nstep time against PyTorch eager, ${threads} thread(s) each (onnxruntime intra-op threads, ` +
      `torch.set_num_threads), ${rounds} round(s) of dlm then PyTorch, ${runs} timed runs each ` +
      `(dlm: ${STEPS_PER_RUN} steps per run, after ${warmup} untimed runs); medians and minima`,
  );
  const results = [];
  for (const name of RATIO_MODELS) {
    const m = TRAIN_MODELS.find((x) => x.name === name)!;
    console.error(`${m.name}: compiling`);
    const p = prepare({ ...m, runs, refRuns: 0 });
    const dlm: number[] = [], torch: number[] = [];
    const failures: string[] = [];
    try {
      for (let i = 0; i < rounds; i++) {
        console.error(`${m.name}: round ${i + 1} of ${rounds}`);
        const n = Math.ceil(runs * 2 / 5);
        const d = await timeInChild(p.dir, "multi", "dlm", n, warmup, undefined, threads);
        if (d.times) dlm.push(...d.times.runs);
        else failures.push(`dlm ${d.result.status}`);
        const t = await torchStep(m, threads, runs);
        if (t.stepMs) torch.push(...t.stepMs.runs);
        else failures.push(`torch ${t.result.status}`);
      }
    } finally {
      Deno.removeSync(p.dir, { recursive: true });
    }
    const dlmMs = dlm.length ? summarize(dlm) : undefined;
    const torchMs = torch.length ? summarize(torch) : undefined;
    results.push({
      model: m.name,
      batch: m.batch,
      dlmStepMs: dlmMs,
      torchStepMs: torchMs,
      ratio: dlmMs && torchMs ? dlmMs.median / torchMs.median : undefined,
      ratioOfMinima: dlmMs && torchMs ? dlmMs.min / torchMs.min : undefined,
      failures,
    });
  }
  const x = (v: number | undefined) => (v === undefined ? "-" : `${v.toFixed(2)}x`);
  console.log(formatTable(
    [
      { header: "model" },
      { header: "batch", right: true },
      { header: "dlm step ms", right: true },
      { header: "PyTorch step ms", right: true },
      { header: "dlm/PyTorch", right: true },
      { header: "of minima", right: true },
      { header: "target", right: true },
    ],
    results.map((r) => [
      r.model,
      String(r.batch),
      r.dlmStepMs ? ms(r.dlmStepMs.median) : r.failures.join(", ") || "-",
      r.torchStepMs ? ms(r.torchStepMs.median) : r.failures.join(", ") || "-",
      x(r.ratio),
      x(r.ratioOfMinima),
      "<= 0.75x",
    ]),
  ));
  writeFileAtomic(
    root + "bench/results_train_ratio.json",
    JSON.stringify(
      { version: 1, date: new Date().toISOString(), machine: facts, threads, rounds, results },
      null,
      2,
    ) + "\n",
  );
}

// ---------------------------------------------------------------- main

const child = Deno.args.indexOf("--child");
if (child >= 0) {
  const [dir, kind, session, runs, warmup, threads] = Deno.args.slice(child + 1);
  if (session !== "dlm" && session !== "reference" && !isLevel(session)) {
    throw new Error(`unknown session kind '${session}'`);
  }
  await timingChild(
    dir,
    kind as Kind,
    session as SessionKind,
    Number(runs),
    Number(warmup),
    threads ? Number(threads) : undefined,
  );
  Deno.exit(0);
}

let opts;
try {
  opts = parseOptions(Deno.args, {
    quick: "flag",
    only: "string",
    timeout: { min: 1 },
    skip: "string",
    "step-ratio": "flag",
    rounds: { min: 1, integer: true },
    "process-rounds": { min: 1, integer: true },
    threads: { min: 1, integer: true },
    help: "flag",
  });
  for (const s of String(opts.skip ?? "").split(",").filter((x) => x)) {
    if (!["steps", "startup", "e2e"].includes(s)) {
      throw new Error(`--skip takes steps, startup and e2e, got '${s}'`);
    }
  }
} catch (e) {
  console.error(`${(e as Error).message}\n\n${USAGE}`);
  Deno.exit(2);
}
if (opts.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const quick = !!opts.quick;
const only = opts.only as string | undefined;
const timeoutMs = ((opts.timeout as number | undefined) ?? 120) * 1000;
const skip = new Set(String(opts.skip ?? "").split(","));
const processRounds = quick ? 1 : (opts["process-rounds"] as number | undefined) ?? 3;

const facts = machineFacts();
console.log(formatMachineFacts(facts));
if (opts["step-ratio"]) {
  await stepRatio(
    (opts.rounds as number | undefined) ?? 5,
    (opts.threads as number | undefined) ?? DEFAULT_THREADS,
  );
  Deno.exit(0);
}
const help = async (cmd: string) =>
  (await runChild(Deno.execPath(), ["run", "-A", "cli/main.ts", cmd, "--help"], { cwd: root }))
    .stdout;
const features = cliFeatures(await help("train"), await help("run"));
console.log(
  `onnxruntime threads ${DEFAULT_THREADS} (PyTorch set to the same); time limit per child ` +
    `${timeoutMs / 1000} s; CLI: ${
      features.cache ? "optimised-model cache (--no-cache)" : "no optimised-model cache"
    }${features.levelOption ? `, --${features.levelOption}` : ""}`,
);

const cases = CASES.filter((c) => !only || c.name.includes(only));
const models = only ? TRAIN_MODELS.filter((m) => m.name.includes(only)) : TRAIN_MODELS;
if (cases.length === 0 && models.length === 0) {
  console.error(
    `--only ${only} matches no case; the cases are ${
      [...new Set(CASES.map((c) => c.name))].join(", ")
    }`,
  );
  Deno.exit(2);
}
const prepared = new Map<Case, Prepared>();
const prep = (c: Case) => {
  let p = prepared.get(c);
  if (!p) {
    console.error(`${c.name} (batch ${c.batch}): compiling`);
    p = prepare(c);
    prepared.set(c, p);
  }
  return p;
};

const rows: Row[] = [];
if (!skip.has("steps")) {
  console.log(
    `\ntraining step vs forward (onnxruntime-node), medians of timed runs (mlp 400, lenet 200, ` +
      `resnet 25 and 15, mobilenet, shufflenet and efficientnet 25, resnext, densenet, convnext and ` +
      `cifar 10, gpt2 40), each kind ` +
      `in a process of its own, ${quick ? 1 : 3} round(s) of the kinds in turn, the first tenth ` +
      `of each process's runs untimed; "step" as dlm train runs it (${STEPS_PER_RUN} steps per ` +
      `run), "1 step/run" one step per run; "session" dlm's session creation for the step`,
  );
  for (const c of cases) {
    const p = prep(c);
    console.error(`${c.name} (batch ${c.batch}): timing`);
    rows.push(await benchCase(c, p));
  }
  console.log(formatTable(
    [
      { header: "model" },
      { header: "batch", right: true },
      { header: "params", right: true },
      { header: "step ms", right: true },
      { header: "1 step/run", right: true },
      { header: "forward ms", right: true },
      { header: "step/forward", right: true },
      { header: "of minima", right: true },
      { header: "session ms", right: true },
      { header: "reference step ms", right: true },
    ],
    rows.map((r) => [
      r.model,
      String(r.batch),
      r.params.toLocaleString("en"),
      timingCell(r.stepMs, r.status.multi),
      timingCell(r.singleStepMs, r.status.single),
      timingCell(r.forwardMs, r.status.forward),
      r.ratio !== undefined ? `${r.ratio.toFixed(2)}x` : "-",
      r.ratioOfMinima !== undefined ? `${r.ratioOfMinima.toFixed(2)}x` : "-",
      r.sessionMs.multi ? ms(r.sessionMs.multi.median) : "-",
      r.referenceStepMs
        ? `${ms(r.referenceStepMs.median)} (${r.referenceStepMs.runs.length} runs)`
        : timingCell(undefined, r.status.reference),
    ]),
  ));
}

const reports: ModelReport[] = [];
if (!skip.has("startup") && models.length) {
  console.log(
    `\nstart-up and PyTorch (step graphs as dlm train compiles them; sessions and steps per ` +
      `onnxruntime level: one step per run, ${quick ? 1 : 3} timed after 1; PyTorch eager in ` +
      `this run with ${DEFAULT_THREADS} threads; "step ms" is part 1's, ${STEPS_PER_RUN} steps ` +
      `per run as dlm train runs them; dlm train on one batch of synthetic data, one epoch; ` +
      `whole processes the medians of ${processRounds} round(s), each ratio's range over ` +
      `rounds in brackets)`,
  );
  for (const m of models) {
    const c = cases.find((x) => x.name === m.name && x.batch === m.batch) ??
      { ...m, runs: 0, refRuns: 0 };
    const p = prep(c);
    const row = rows.find((r) => r.model === m.name && r.batch === m.batch);
    console.error(`${m.name}: start-up`);
    reports.push(await benchModel(m, p, row, features));
  }
  console.log(startupTables(reports, features));
}

let e2e: Awaited<ReturnType<typeof endToEnd>> | undefined;
if (!quick && !only && !skip.has("e2e")) {
  console.log("\ndlm train lang-examples/lenet_digits.dlm --data digits (end to end)");
  e2e = await endToEnd();
  console.log(
    `${e2e.seconds.toFixed(1)} s, final validation accuracy ${
      e2e.valAccuracy !== undefined ? (e2e.valAccuracy * 100).toFixed(1) + "%" : "not found"
    } (target: >= 97% in under 60 s)\n${e2e.output}`,
  );
}
for (const d of [...[...prepared.values()].map((p) => p.dir), ...cacheDirs]) {
  Deno.removeSync(d, { recursive: true });
}

const outPath = root + (only ? "bench/results_train_only.json" : "bench/results_train.json");
writeFileAtomic(
  outPath,
  JSON.stringify(
    {
      version: 2,
      date: new Date().toISOString(),
      machine: facts,
      threads: DEFAULT_THREADS,
      timeoutSeconds: timeoutMs / 1000,
      cli: features,
      rows,
      models: reports,
      endToEnd: e2e,
    },
    null,
    2,
  ) + "\n",
);
console.log(`\nwrote ${outPath}`);
