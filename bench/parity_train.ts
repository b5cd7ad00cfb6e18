/**
 * The parity check of the training benchmark's models (bench/train_models.ts): does each .dlm
 * model compute what its torchvision twin does?
 *
 * For ResNet-18 (ResNet18Small), MobileNetV2, ShuffleNetV2, ResNeXt-50 32x4d, EfficientNet-B0,
 * DenseNet-121 and ConvNeXt-Tiny at 32x32:
 *
 * 1. bench/torch_parity.py saves torchvision's seeded weights (batch norms with non-trivial
 *    statistics, layer norms and ConvNeXt's layer scales off their initial values) as
 *    safetensors, the eval-mode logits for a fixed input, and the whole state after each of
 *    `--steps` SGD steps (the train section's lr and momentum) on fixed batches, in float32, with
 *    torch's own float32-vs-float64 deviation per tensor (kept in --dir, made again when missing,
 *    made with other arguments or by another torch_parity.py, or with --regen).
 * 2. Eval: `dlm run FILE --model M --weights weights.safetensors --input image=eval_image.npy
 *    --out DIR`, as a user runs it; logits within 1e-4 of torch's.
 * 3. Training: the train section compiled as `dlm train` compiles it (`compileTrain`, packed
 *    parameters), torch's weights loaded by name (`loadWeights`), then the one-step model run
 *    on each of torch's `--steps` batches, each step from torch's state before it (its
 *    parameters, buffers and momentum: a step is not continuous in its state, so a difference
 *    of 1e-6 after one step could move the next one's gradients by 1e-2); after each step the
 *    loss and every tensor of torch's state (parameters, running statistics, num_batches_tracked,
 *    SGD's momentum) compared, with a tolerance widened by torch's own float64 deviation of that
 *    tensor over the step (bench/parity.ts says why).
 *    The step runs in dlm's reference interpreter by default (`--level reference`), in
 *    onnxruntime-node through dlm's own session (`--level default`), or at a given onnxruntime
 *    level (`--level disabled` loads in seconds where "all" takes minutes today). The reference
 *    judges the graph: it computes in float64 inside its kernels, where onnxruntime's float32
 *    can flip a ReLU whose input lies within its rounding of zero (ShuffleNetV2, batch 16: one
 *    element of 15,000 at 1.5e-5 against the reference's -2.1e-6), and such a flip moves every
 *    gradient upstream by 1e-3; so when onnxruntime's steps differ, they run again in the
 *    reference, and only a difference there makes the check fail.
 *    Dropout and stochastic depth are off on both sides (the model's `deterministic` parameters).
 *
 * Each model's eval and training runs in a process of its own with a time limit (`--timeout`,
 * seconds): a step that takes minutes to load is reported as timed out, not waited for.
 *
 *   deno task bench:parity [--only NAME] [--level reference|default|disabled|basic|extended|all]
 *     [--steps K] [--train-batch B] [--timeout S] [--dir DIR] [--regen]
 *
 * Writes bench/results_parity.json (bench/results_parity_only.json with --only); exits 1 when a
 * model differs from torch. Needs /usr/bin/python3 with torch and torchvision (Debian's).
 */
import { compileTrain } from "../compiler/train/mod.ts";
import {
  LOSS_OUTPUT,
  nextName,
  optSlotName,
  stateInputs,
  STEP_INPUT,
} from "../compiler/train/contract.ts";
import { unpackValues } from "../compiler/train/pack.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import { type Tensor, tensor, toNumbers } from "../compiler/ir/tensor.ts";
import { readNpy, readSafetensors, writeSafetensors } from "../runtime/formats/mod.ts";
import { writeFileAtomic } from "../runtime/fs.ts";
import { sha256 } from "../runtime/ort/cache.ts";
import { initialState, loadModel, openRunner, stateInParamShapes } from "../runtime/train/mod.ts";
import { loadWeights } from "../runtime/weights.ts";
import { runChild, tail } from "./child.ts";
import { isLevel, LEVELS, sessionAtLevel } from "./ort_level.ts";
import { parseOptions } from "./options.ts";
import {
  classify,
  compare,
  type Comparison,
  describeFailure,
  type Kink,
  kinkExplaining,
  KNOWN_DIFFERENCES,
  LOGITS_TOLERANCE,
  STEP_TOLERANCE,
  type StepComparison,
  summarizeComparisons,
} from "./parity.ts";
import { formatTable } from "./table.ts";
import { selectModels, TRAIN_MODELS, type TrainModel } from "./train_models.ts";

const root = new URL("../", import.meta.url).pathname;
const PYTHON = "/usr/bin/python3";

const USAGE = `Usage: deno task bench:parity [options]

  --only NAME        the models whose name contains NAME (${
  TRAIN_MODELS.filter((m) => m.sgd).map((m) => m.id).join(", ")
})
  --level L          where the steps run: reference (dlm's reference interpreter, float64
                     inside its kernels; the default), default (dlm's own onnxruntime-node
                     session) or an onnxruntime level (${LEVELS.join(", ")}); when
                     onnxruntime's steps differ, they run again in the reference interpreter
  --steps K          SGD steps compared (default 2: the second sees the momentum)
  --train-batch B    samples per step (default 16, the benchmark's batch)
  --timeout S        time limit of each model's eval and of its training, seconds (default 600;
                     3 times that for making torch's fixtures)
  --dir DIR          torch's fixtures (default /tmp/dlm-bench/parity)
  --regen            make torch's fixtures again
  --dump             also write dlm's state after each step as DIR/NAME/dlm_step<k>.safetensors
  --help             this text`;

/** What the step child prints: per step, the loss and every tensor compared. */
interface StepReport {
  steps: { loss: Comparison; tensors: StepComparison[] }[];
  /** Torch state_dict tensors with no counterpart in dlm's state or initializers. */
  missing: string[];
  /** Buffers dlm keeps constant in its step (not in its state): compared all the same. */
  constant: string[];
  warnings: string[];
  compileMs: number;
  sessionMs: number;
}

interface ModelResult {
  model: string;
  /** The steps again in the reference interpreter, when onnxruntime's differ from torch's. */
  reference?: { status: string; summary?: string; failures?: string[] };
  eval: {
    status: "ok" | "differs" | "failed" | "timed out";
    comparison?: Comparison;
    detail?: string;
  };
  train: {
    status: "ok" | "known differences" | "differs" | "failed" | "timed out";
    level: string;
    summary?: string;
    failures?: string[];
    /** Differences explained by KNOWN_DIFFERENCES (dlm's, not the model's). */
    known?: string[];
    report?: StepReport;
    detail?: string;
  };
}

function readTensors(path: string): Map<string, Tensor> {
  return readSafetensors(Deno.readFileSync(path), path).tensors;
}

function readNpyFile(path: string): Tensor {
  return readNpy(Deno.readFileSync(path), path);
}

/** Rows [from, to) of a tensor's leading axis. */
function rows(t: Tensor, from: number, to: number): Tensor {
  const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return {
    ...t,
    shape: [to - from, ...t.shape.slice(1)],
    data: t.data.slice(from * per, to * per),
  } as Tensor;
}

interface Meta {
  args: Record<string, unknown>;
  steps: { loss: number; fp64_dev: Record<string, number>; kinks?: Kink[] }[];
}

/** torch's name of SGD's momentum as dlm's optimiser slot; other names are the same. */
function dlmName(torchName: string): string {
  const m = /^momentum_buffer:(.*)$/.exec(torchName);
  return m ? optSlotName("momentum", m[1]) : torchName;
}

/** torch's whole training state after step k, by dlm's names, with the step counter. */
function torchState(dir: string, k: number): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [n, t] of readTensors(`${dir}/step${k}.safetensors`)) {
    if (n !== LOSS_OUTPUT) out.set(dlmName(n), t);
  }
  out.set(STEP_INPUT, tensor("i64", [], [k]));
  return out;
}

/** The child: one model's training steps against torch's (see the header, 3). */
async function stepChild(
  name: string,
  dir: string,
  level: string,
  steps: number,
  dump: boolean,
) {
  const m = TRAIN_MODELS.find((x) => x.id === name)!;
  const meta = JSON.parse(Deno.readTextFileSync(`${dir}/meta.json`)) as Meta;
  const t0 = performance.now();
  const c = compileTrain(root + m.file, {
    model: m.model,
    pack: true,
    seed: 0,
    overrides: m.deterministic,
  });
  if (!c.step) {
    throw new Error(c.diagnostics.map((d) => formatDiagnostic(d, c.sources)).join("\n"));
  }
  const warnings = loadWeights(c.step, `${dir}/weights.safetensors`).warnings.map((d) => d.message);
  const step = loadModel(c.step, "step model");
  const compileMs = performance.now() - t0;
  const t1 = performance.now();
  const runner = level === "default" || level === "reference"
    ? await openRunner(step, level === "default" ? "node" : "reference")
    : await sessionAtLevel(step.bytes, level as typeof LEVELS[number]);
  const sessionMs = performance.now() - t1;
  const image = readNpyFile(`${dir}/train_image.npy`);
  const label = readNpyFile(`${dir}/train_label.npy`);
  const batch = image.shape[0] / steps;
  const names = stateInputs(step.outputNames);
  const report: StepReport = {
    steps: [],
    missing: [],
    constant: [],
    warnings,
    compileMs,
    sessionMs,
  };
  // Values dlm does not update in its step (constants of the graph), by parameter name.
  const constants = new Map<string, Tensor>();
  for (const p of c.step.params) {
    const t = c.step.initializers.get(p.name);
    if (t) constants.set(p.name, t);
  }
  try {
    for (let k = 0; k < steps; k++) {
      // Each step starts from torch's state before it (the loaded weights for the first): a step
      // is not continuous in its inputs, so differences would compound (torch_parity.py says how).
      const state = k === 0 ? initialState(step) : initialState(step, torchState(dir, k));
      const feeds: Record<string, Tensor> = Object.fromEntries(state);
      feeds.image = rows(image, k * batch, (k + 1) * batch);
      feeds.label = rows(label, k * batch, (k + 1) * batch);
      const out = await runner.run(feeds);
      const next = new Map<string, Tensor>();
      for (const n of names) next.set(n, out[nextName(n)]);
      // By parameter name, optimiser state in its parameter's shape (as torch's).
      const named = stateInParamShapes(
        step,
        step.packs.length ? unpackValues(step.packs, next, step.defaults) : next,
      );
      if (dump) {
        writeFileAtomic(`${dir}/dlm_step${k + 1}.safetensors`, writeSafetensors([...named]));
      }
      const want = readTensors(`${dir}/step${k + 1}.safetensors`);
      const dev = meta.steps[k]?.fp64_dev ?? {};
      const tensors: Comparison[] = [];
      for (const [n, t] of want) {
        if (n === LOSS_OUTPUT) continue;
        const got = named.get(dlmName(n)) ?? constants.get(n);
        if (!got) {
          if (k === 0) report.missing.push(n);
          continue;
        }
        if (k === 0 && !named.has(dlmName(n))) report.constant.push(n);
        const c: StepComparison = compare(
          n,
          toNumbers(got),
          toNumbers(t),
          STEP_TOLERANCE,
          dev[n] ?? 0,
          t.shape,
        );
        c.kink = kinkExplaining(c, meta.steps[k]?.kinks ?? []);
        tensors.push(c);
      }
      const loss = compare(
        "loss",
        toNumbers(out[LOSS_OUTPUT]),
        toNumbers(want.get(LOSS_OUTPUT)!),
        STEP_TOLERANCE,
        dev.loss ?? 0,
      );
      report.steps.push({ loss, tensors });
    }
  } finally {
    await runner.release();
  }
  console.log(JSON.stringify(report));
}

/** Torch's fixtures for a model: reused when made with the same arguments. */
async function fixtures(
  m: TrainModel,
  dir: string,
  steps: number,
  trainBatch: number,
  regen: boolean,
  timeoutMs: number,
): Promise<string | undefined> {
  const want = {
    name: m.torch,
    lr: m.sgd!.lr,
    momentum: m.sgd!.momentum,
    size: 32,
    eval_batch: 2,
    train_batch: trainBatch,
    steps,
    seed: 0,
    no_dropout: m.deterministic !== undefined,
    perturb: 2,
  };
  // Fixtures are made again when torch_parity.py changed: a fixture of another version of the
  // script (another naming of the state, say) would be compared as if it were torch's answer.
  const script = await sha256(Deno.readFileSync(`${root}bench/torch_parity.py`));
  const stamp = `${dir}/torch_parity.sha256`;
  try {
    const meta = JSON.parse(Deno.readTextFileSync(`${dir}/meta.json`)) as Meta;
    const same = Object.entries(want).every(([k, v]) => meta.args[k] === v) &&
      Deno.readTextFileSync(stamp) === script;
    if (same && !regen) return undefined;
  } catch {
    // None yet, or made before the stamp.
  }
  const args = [
    root + "bench/torch_parity.py",
    m.torch!,
    "--out",
    dir,
    "--lr",
    String(want.lr),
    "--momentum",
    String(want.momentum),
    "--train-batch",
    String(trainBatch),
    "--steps",
    String(steps),
    ...(want.no_dropout ? ["--no-dropout"] : []),
  ];
  // torch's side runs each step 1 + 1 + --perturb times (float32, float64, perturbed float64).
  const r = await runChild(PYTHON, args, { cwd: root, timeoutMs: timeoutMs * 3 });
  if (r.status !== "ok") return `torch_parity.py ${r.status}:\n${tail(r.stderr)}`;
  writeFileAtomic(stamp, script);
  return undefined;
}

async function evalParity(m: TrainModel, dir: string, timeoutMs: number) {
  const out = `${dir}/dlm_eval`;
  const r = await runChild(Deno.execPath(), [
    "run",
    "-A",
    "cli/main.ts",
    "run",
    m.file,
    "--model",
    m.model,
    "--weights",
    `${dir}/weights.safetensors`,
    "--input",
    `image=${dir}/eval_image.npy`,
    "--out",
    out,
  ], { cwd: root, timeoutMs });
  if (r.status !== "ok") {
    return { status: r.status, detail: tail(r.stderr) } as ModelResult["eval"];
  }
  const c = compare(
    "logits",
    toNumbers(readNpyFile(`${out}/logits.npy`)),
    toNumbers(readNpyFile(`${dir}/eval_logits.npy`)),
    LOGITS_TOLERANCE,
  );
  const warnings = r.stderr.split("\n").filter((l) => /warning/i.test(l));
  return {
    status: c.ok ? "ok" : "differs",
    comparison: c,
    detail: warnings.length ? warnings.join("\n") : undefined,
  } as ModelResult["eval"];
}

async function trainParity(
  m: TrainModel,
  dir: string,
  level: string,
  steps: number,
  timeoutMs: number,
  dump: boolean,
): Promise<ModelResult["train"]> {
  const r = await runChild(Deno.execPath(), [
    "run",
    "-A",
    new URL(import.meta.url).pathname,
    "--child",
    m.id,
    dir,
    level,
    String(steps),
    dump ? "dump" : "",
  ], { cwd: root, timeoutMs });
  if (r.status !== "ok") return { status: r.status, level, detail: tail(r.stderr, 12) };
  const report = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as StepReport;
  const all: StepComparison[] = report.steps.flatMap((s, k) =>
    [s.loss, ...s.tensors].map((c) => ({ ...c, name: `step ${k + 1} ${c.name}` }))
  );
  const { unexplained, known } = classify(all);
  const failures = unexplained.map(describeFailure);
  for (const n of report.missing) failures.push(`${n}: not in dlm's model`);
  const knownLines = KNOWN_DIFFERENCES.filter((d) => known.has(d.id)).map((d) => {
    const cs = known.get(d.id)!;
    const w = cs.reduce((a, b) => (b.maxAbs > a.maxAbs ? b : a));
    return `${cs.length} tensor(s) differ as known: ${d.what} [${d.where}]; largest ` +
      `${describeFailure(w)}`;
  });
  const explained = new Set([...known.values()].flat().map((c) => c.name));
  return {
    status: failures.length ? "differs" : known.size ? "known differences" : "ok",
    level,
    summary: summarizeComparisons(all.filter((c) => !explained.has(c.name))) +
      (known.size ? `; explained: ${[...known.keys()].join(", ")}` : ""),
    failures,
    known: knownLines,
    report,
  };
}

if (Deno.args[0] === "--child") {
  const [name, dir, level, steps, dump] = Deno.args.slice(1);
  await stepChild(name, dir, level, Number(steps), dump === "dump");
  Deno.exit(0);
}

let opts;
try {
  opts = parseOptions(Deno.args, {
    only: "string",
    level: "string",
    steps: { min: 1, integer: true },
    "train-batch": { min: 2, integer: true },
    timeout: { min: 1 },
    dir: "string",
    regen: "flag",
    dump: "flag",
    help: "flag",
  });
  const l = opts.level;
  if (l !== undefined && l !== "default" && l !== "reference" && !isLevel(String(l))) {
    throw new Error(
      `--level must be default, reference or one of ${LEVELS.join(", ")}, got '${l}'`,
    );
  }
} catch (e) {
  console.error(`${(e as Error).message}\n\n${USAGE}`);
  Deno.exit(2);
}
if (opts.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const only = opts.only as string | undefined;
const level = (opts.level as string | undefined) ?? "reference";
const steps = (opts.steps as number | undefined) ?? 2;
const trainBatch = (opts["train-batch"] as number | undefined) ?? 16;
const timeoutMs = ((opts.timeout as number | undefined) ?? 600) * 1000;
const base = (opts.dir as string | undefined) ?? "/tmp/dlm-bench/parity";
const models = selectModels(TRAIN_MODELS.filter((m) => m.torch && m.sgd), only);

const results: ModelResult[] = [];
for (const m of models) {
  const dir = `${base}/${m.id}`;
  Deno.mkdirSync(dir, { recursive: true });
  console.error(`${m.name}: torch fixtures`);
  const err = await fixtures(m, dir, steps, trainBatch, !!opts.regen, timeoutMs);
  if (err) {
    results.push({
      model: m.name,
      eval: { status: "failed", detail: err },
      train: { status: "failed", level, detail: err },
    });
    continue;
  }
  console.error(`${m.name}: eval (dlm run)`);
  const ev = await evalParity(m, dir, timeoutMs);
  console.error(`${m.name}: ${steps} training steps (${level})`);
  const tr = await trainParity(m, dir, level, steps, timeoutMs, !!opts.dump);
  let ref: ModelResult["reference"];
  if (tr.status === "differs" && level !== "reference") {
    // onnxruntime computes in float32 throughout; where a pre-activation lies within its rounding
    // of zero, a ReLU's choice can flip and move every gradient upstream (ShuffleNetV2 at batch
    // 16: one element of stage4.0's branch, 1.5e-5 in onnxruntime, -2.1e-6 in the reference).
    // The reference interpreter (float64 inside its kernels) says whether the graph is right.
    console.error(`${m.name}: ${steps} training steps (reference, as onnxruntime differs)`);
    const r = await trainParity(m, dir, "reference", steps, timeoutMs, false);
    ref = { status: r.status, summary: r.summary, failures: r.failures };
  }
  results.push({ model: m.name, eval: ev, train: tr, reference: ref });
}

console.log(formatTable(
  [
    { header: "model" },
    { header: "eval logits" },
    { header: `${steps} SGD steps (${level})` },
    ...(results.some((r) => r.reference) ? [{ header: "reference interpreter" }] : []),
  ],
  results.map((r) => [
    r.model,
    r.eval.comparison
      ? `${r.eval.status}: max |diff| ${r.eval.comparison.maxAbs.toExponential(1)}`
      : r.eval.status,
    r.train.summary ? `${r.train.status}: ${r.train.summary}` : r.train.status,
    ...(results.some((r) => r.reference) ? [r.reference?.status ?? ""] : []),
  ]),
));
for (const r of results) {
  const lines = [
    ...(r.eval.status !== "ok" || r.eval.detail ? [`eval: ${r.eval.detail ?? r.eval.status}`] : []),
    ...(r.train.detail ? [`train: ${r.train.detail}`] : []),
    ...(r.train.failures ?? []).slice(0, 12),
    ...(r.train.known ?? []),
  ];
  const rep = r.train.report;
  if (rep?.constant.length) {
    lines.push(
      `dlm keeps ${rep.constant.length} buffer(s) constant in its step: ${
        rep.constant.slice(0, 3).join(", ")
      }${rep.constant.length > 3 ? ", ..." : ""}`,
    );
  }
  if (rep?.warnings.length) lines.push(...rep.warnings.map((w) => `weights: ${w}`));
  if (lines.length) console.log(`\n${r.model}:\n  ${lines.join("\n  ")}`);
}
const outPath = root + (only ? "bench/results_parity_only.json" : "bench/results_parity.json");
writeFileAtomic(
  outPath,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      level,
      steps,
      trainBatch,
      // Each tensor's comparison is in the printed report (with --dump, dlm's state); the file
      // keeps the verdicts, the losses and the counts.
      results: results.map((r) => ({
        ...r,
        train: {
          ...r.train,
          report: r.train.report && {
            losses: r.train.report.steps.map((st) => st.loss),
            tensorsCompared: r.train.report.steps.reduce((n, st) => n + st.tensors.length, 0),
            missing: r.train.report.missing,
            constant: r.train.report.constant,
            warnings: r.train.report.warnings,
            compileMs: r.train.report.compileMs,
            sessionMs: r.train.report.sessionMs,
          },
        },
      })),
    },
    null,
    2,
  ) + "\n",
);
console.log(`\nwrote ${outPath}`);
// A model is wrong when its logits differ, or its steps do in the reference interpreter (run
// again there when onnxruntime's differ).
const wrong = (r: ModelResult) =>
  r.eval.status === "differs" || (r.reference ?? r.train).status === "differs";
if (results.some(wrong)) Deno.exit(1);
