/**
 * The training benchmark (issue 4): for MLP and LeNet on the digits set
 * (batch 32), ResNet-18 at 32x32 (batch 16 and 32; and its CIFAR variant at
 * batch 16) and a 4-layer GPT-2 (batch 8 of 64 tokens, bench/gpt2_train.dlm),
 * the onnxruntime-node time of one training step (as `dlm train` runs it, 8
 * per run, and one per run) against one forward pass of the evaluation model
 * on the same batch (each kind timed in a process of its own, in rounds; medians),
 * their ratio (target <= 4x: a step does about 3x the work of a forward) and
 * the ratio of the fastest runs, the reference interpreter's step time, and
 * the end-to-end time of `dlm train lang-examples/lenet_digits.dlm --data
 * digits` with its validation accuracy (target >= 97% in under a minute).
 * Writes bench/results_train.json. bench/torch_train_ratio.py times the same
 * models in PyTorch.
 *
 *   deno task bench:train [--quick] [--only NAME]
 *
 * --only times the cases whose name contains NAME (and skips the end-to-end run).
 */
import type { Tensor } from "../compiler/ir/tensor.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { unpackValues } from "../compiler/train/pack.ts";
import { multiStep } from "../compiler/train/multistep.ts";
import { stack } from "../runtime/reference/kernels/stack_util.ts";
import {
  initialState,
  type LoadedModel,
  loadModel,
  openRunner,
  type Runner,
} from "../runtime/train/mod.ts";
import { Dataset, digitsFit, loadDigits } from "../runtime/data/mod.ts";
import { prepareInputs } from "../runtime/inputs.ts";
import { writeFileAtomic } from "../runtime/fs.ts";
import { formatMachineFacts, machineFacts } from "./machine.ts";
import { summarize, type Timing } from "./stats.ts";
import { formatTable, ms } from "./table.ts";

const root = new URL("../", import.meta.url).pathname;
const quick = Deno.args.includes("--quick");
const onlyAt = Deno.args.indexOf("--only");
const only = onlyAt >= 0 ? Deno.args[onlyAt + 1] : undefined;
/** Steps per run, as `dlm train` runs them by default. */
const STEPS_PER_RUN = 8;

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

const CASES: Case[] = [
  { name: "mlp_digits", file: "lang-examples/mlp_digits.dlm", batch: 32, runs: 400, refRuns: 10 },
  {
    name: "lenet_digits",
    file: "lang-examples/lenet_digits.dlm",
    batch: 32,
    runs: 200,
    refRuns: 5,
  },
  {
    name: "resnet18 32x32",
    file: "bench/resnet18_train.dlm",
    model: "ResNet18Small",
    batch: 16,
    runs: 25,
    refRuns: 2,
  },
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
  {
    name: "gpt2 mini T=64",
    file: "bench/gpt2_train.dlm",
    batch: 8,
    runs: 40,
    refRuns: 1,
    dims: { T: 64 },
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

async function timeRun(r: Runner, feeds: Record<string, Tensor>): Promise<number> {
  const t0 = performance.now();
  await r.run(feeds);
  return performance.now() - t0;
}

interface Row {
  model: string;
  batch: number;
  params: number;
  /** Per step, as `dlm train` runs them: 8 steps per run (compiler/train/multistep.ts). */
  stepMs: Timing;
  /** One step per run. */
  singleStepMs: Timing;
  forwardMs: Timing;
  ratio: number;
  /** Fastest step over fastest forward: what the machine's noise (10-40% between runs here) touches least. */
  ratioOfMinima: number;
  referenceStepMs: Timing;
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** What a case runs: its models and their inputs. */
interface Prepared {
  step: LoadedModel;
  state: Map<string, Tensor>;
  stepFeeds: Record<string, Tensor>;
  kinds: Record<Kind, { model: LoadedModel; feeds: Record<string, Tensor>; per: number }>;
  /** Trainable parameter count: the sizes of the tensors that have an optimiser update. */
  params: number;
}

/** What a timing process runs: `dlm train`'s several steps per run, one step per run, a forward. */
type Kind = "multi" | "single" | "forward";
const KINDS: Kind[] = ["multi", "single", "forward"];

function prepare(c: Case): Prepared {
  // Compiled as `dlm train` compiles it: small parameters packed.
  const compiled = compileTrain(root + c.file, { pack: true, model: c.model, dims: c.dims });
  if (!compiled.step || !compiled.eval) {
    throw new Error(`${c.file}: ${compiled.diagnostics.map((d) => d.message).join("; ")}`);
  }
  const step = loadModel(compiled.step, "step model");
  const evalModel = loadModel(compiled.eval, "evaluation model");
  const state = initialState(step);
  const batch = batchOf(step, state, c.batch, c.dims);
  const stepFeeds = { ...Object.fromEntries(state), ...batch };
  const named = unpackValues(step.packs, state);
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
  let params = 0;
  const initial = unpackValues(step.packs, step.defaults);
  for (const p of compiled.step.params) {
    if (!p.trainable || p.frozen) continue;
    const t = initial.get(p.name);
    if (t) params += t.data.length;
  }
  return {
    step,
    state,
    stepFeeds,
    params,
    kinds: {
      multi: { model: multi, feeds: multiFeeds, per: STEPS_PER_RUN },
      single: { model: step, feeds: stepFeeds, per: 1 },
      forward: { model: evalModel, feeds: evalFeeds, per: 1 },
    },
  };
}

/**
 * A timing process: RUNS timed runs of one kind of one case in onnxruntime-node, after
 * WARMUP untimed ones; prints the per-step times (ms) as JSON. Each kind runs in a process of
 * its own, as training and inference do: with two sessions in one process, the idle one's
 * spinning worker threads take a core from the other (LeNet's step measured 2.2 against 1.4 ms
 * here), and a pause after a block does not end that reliably.
 */
async function timingChild(caseIndex: number, kind: Kind, runs: number, warmup: number) {
  const p = prepare(CASES[caseIndex]);
  const { model, feeds, per } = p.kinds[kind];
  let stateBytes = 0;
  for (const t of p.state.values()) stateBytes += t.data.length * 4;
  // A step that outputs tens of MB (ResNet-18: 89 MB of parameters and momentum) leaves that
  // much garbage per run; collected inside a timed run, it costs tens of ms of JavaScript heap
  // work that is not onnxruntime's. Such cases collect before every timed run (step and
  // forward alike). Small models do not: a run right after a forced collection is several
  // times slower (0.5 against 0.1 ms for mlp_digits), which no training loop sees.
  const collect = stateBytes > 8e6 ? gc : () => {};
  const r = await openRunner(model, "node");
  const out: number[] = [];
  try {
    for (let i = 0; i < warmup + runs; i++) {
      collect();
      const t = await timeRun(r, feeds);
      if (i >= warmup) out.push(t / per);
    }
  } finally {
    await r.release();
  }
  console.log(JSON.stringify(out));
}

/** Times one kind of one case in a process of its own (see timingChild). */
async function timeInChild(
  caseIndex: number,
  kind: Kind,
  runs: number,
  warmup: number,
): Promise<number[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL(import.meta.url).pathname,
      "--child",
      String(caseIndex),
      kind,
      String(runs),
      String(warmup),
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(
      `timing ${CASES[caseIndex].name} (${kind}) failed:\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return JSON.parse(text.split("\n").at(-1)!) as number[];
}

async function benchCase(caseIndex: number): Promise<Row> {
  const c = CASES[caseIndex];
  const p = prepare(c);
  const runs = quick ? 5 : c.runs;
  // Rounds of one process per kind in turn, so drift in machine load hits all kinds alike. A
  // multi-step run is STEPS_PER_RUN steps: 2 of them for every 5 single steps or forwards.
  const rounds = quick ? 1 : 3;
  const timings: Record<Kind, number[]> = { multi: [], single: [], forward: [] };
  for (let i = 0; i < rounds; i++) {
    for (const kind of KINDS) {
      const n = Math.ceil((kind === "multi" ? runs * 2 / 5 : runs) / rounds);
      // Untimed first runs: a session's first runs plan its memory and warm its threads.
      const warmup = Math.max(2, Math.ceil(n / 10));
      timings[kind].push(...await timeInChild(caseIndex, kind, n, warmup));
    }
  }
  const ref = await openRunner(p.step, "reference");
  const refRuns: number[] = [];
  const nRef = quick ? 1 : c.refRuns;
  for (let i = 0; i < nRef; i++) {
    gc();
    refRuns.push(await timeRun(ref, p.stepFeeds));
  }
  const stepMs = summarize(timings.multi), forwardMs = summarize(timings.forward);
  return {
    model: c.name,
    batch: c.batch,
    params: p.params,
    stepMs,
    singleStepMs: summarize(timings.single),
    forwardMs,
    ratio: stepMs.median / forwardMs.median,
    ratioOfMinima: stepMs.min / forwardMs.min,
    referenceStepMs: summarize(refRuns),
  };
}

/** `dlm train lang-examples/lenet_digits.dlm --data digits`, end to end, as a user runs it. */
async function endToEnd(): Promise<{ seconds: number; valAccuracy?: number; output: string }> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "cli/main.ts",
      "train",
      "lang-examples/lenet_digits.dlm",
      "--data",
      "digits",
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - t0) / 1000;
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`dlm train failed:\n${text}`);
  // The last "val_accuracy" figure printed.
  const m = [...text.matchAll(/val_accuracy[^0-9]*([0-9.]+)/g)].at(-1);
  let acc = m ? Number(m[1]) : undefined;
  if (acc !== undefined && acc > 1) acc /= 100;
  return { seconds, valAccuracy: acc, output: text.trim().split("\n").slice(-4).join("\n") };
}

const child = Deno.args.indexOf("--child");
if (child >= 0) {
  const [index, kind, runs, warmup] = Deno.args.slice(child + 1);
  await timingChild(Number(index), kind as Kind, Number(runs), Number(warmup));
  Deno.exit(0);
}
const facts = machineFacts();
console.log(formatMachineFacts(facts));
console.log(
  `\ntraining step vs forward (onnxruntime-node), medians of timed runs (mlp 400, lenet 200, ` +
    `resnet 25 and 15, cifar 10, gpt2 40), each kind in a process of its own, 3 rounds of the ` +
    `kinds in turn, the first tenth of each process's runs untimed; "step" as dlm train runs it ` +
    `(${STEPS_PER_RUN} steps per run), "1 step/run" ` +
    `one step per run`,
);
const rows: Row[] = [];
for (let i = 0; i < CASES.length; i++) {
  if (!only || CASES[i].name.includes(only)) rows.push(await benchCase(i));
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
    { header: "reference step ms", right: true },
  ],
  rows.map((r) => [
    r.model,
    String(r.batch),
    r.params.toLocaleString("en"),
    ms(r.stepMs.median),
    ms(r.singleStepMs.median),
    ms(r.forwardMs.median),
    `${r.ratio.toFixed(2)}x`,
    `${r.ratioOfMinima.toFixed(2)}x`,
    `${ms(r.referenceStepMs.median)} (${r.referenceStepMs.runs.length} runs)`,
  ]),
));
console.log("\ndlm train lang-examples/lenet_digits.dlm --data digits (end to end)");
const e2e = quick || only ? undefined : await endToEnd();
if (e2e) {
  console.log(
    `${e2e.seconds.toFixed(1)} s, final validation accuracy ${
      e2e.valAccuracy !== undefined ? (e2e.valAccuracy * 100).toFixed(1) + "%" : "not found"
    } (target: >= 97% in under 60 s)\n${e2e.output}`,
  );
}
const outPath = root + (only ? "bench/results_train_only.json" : "bench/results_train.json");
writeFileAtomic(
  outPath,
  JSON.stringify(
    { date: new Date().toISOString(), machine: facts, rows, endToEnd: e2e },
    null,
    2,
  ) +
    "\n",
);
console.log(`\nwrote ${outPath}`);
