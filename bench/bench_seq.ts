/**
 * `deno task bench:seq`: the sequence and attention models. Prints tables
 * and writes bench/results_seq.json (or `--out`).
 *
 * - onnxruntime-node latency of GPT-2 small (lang-examples/gpt2.dlm
 *   GPT2Small, batch 1, 128 tokens) and ViT-B/16 (lang-examples/vit.dlm
 *   ViTB16, batch 1, 224x224), each compiled for the "onnx" target
 *   (standard operators) and the "ort" target (onnxruntime's contrib
 *   fusions), and torch.onnx.export's graphs of the same models when
 *   bench/torch_export_seq.py has written them: 2 intra-op threads, median
 *   of `--ort-runs` (>= 20) runs after 3 warm-ups, the models of one
 *   comparison taking turns run by run so that load from other processes
 *   slows them alike. Node counts and operator histograms of each graph.
 * - compile times of the Transformer examples at full size, as bench.ts
 *   measures the CNNs: `parse()`; parse + check + elaborate (`compileFile`,
 *   weights initialised lazily); and the whole path to ONNX bytes
 *   (elaborate, weight init, the "onnx" target's eval passes, emit).
 * - KV-cache generation (runtime/generate.ts): greedy decoding of
 *   `--new` tokens after a `--prompt`-token prompt with GPT2SmallCached
 *   (the cache) and GPT2Small (re-running the whole sequence each token).
 */
import { numel, type Tensor, tensor } from "../compiler/ir/tensor.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { pipelineFor, runPasses, type Target } from "../compiler/passes/mod.ts";
import { parse } from "../compiler/syntax/mod.ts";
import { writeFileAtomic } from "../runtime/fs.ts";
import { formatMachineFacts, type MachineFacts, machineFacts } from "./machine.ts";
import { formatOpComparison, type OnnxStats, onnxStats } from "./onnx_stats.ts";
import { summarize, type Timing } from "./stats.ts";
import { count, formatTable, ms } from "./table.ts";
import {
  benchCompile,
  type CompileBench,
  compiled,
  exists,
  formatCompileTable,
  gc,
  ORT_THREADS,
  ORT_WARMUP,
  ortLatencies,
  type OrtModel,
  pathOf,
  readJson,
} from "./shared.ts";

const ROOT = new URL("../", import.meta.url);
const EXAMPLES = new URL("lang-examples/", ROOT);
/** Intra-op threads of every onnxruntime session here (the task's fixed setting). */
/**
 * The Transformer examples whose compile times are measured (every model
 * each declares). swin.dlm is left out while it is being written.
 */
const TRANSFORMER_FILES = ["transformer.dlm", "bert.dlm", "gpt2.dlm", "vit.dlm"];

/** Command-line options of `deno task bench:seq`, defaults filled in. */
export interface SeqBenchArgs {
  /** Timed runs of each compile benchmark (after one warm-up). */
  runs: number;
  /** Timed onnxruntime runs per model (after 3 warm-ups); at least 20. */
  ortRuns: number;
  /** Prompt length of the generation benchmark (also GPT-2's latency input length). */
  prompt: number;
  /** New tokens of the generation benchmark (0 skips it). */
  newTokens: number;
  /** Where bench/torch_export_seq.py wrote its models. */
  torchDir: string;
  /** Where the JSON results go. */
  out: string;
  /** Leave out the compile-time benchmarks. */
  skipCompile: boolean;
  help: boolean;
}

export const SEQ_USAGE = `Usage: deno task bench:seq [options]

  --runs N        timed runs per compile benchmark, after a warm-up (default 3)
  --ort-runs N    timed onnxruntime-node runs per model, after 3 warm-ups (default 20, at least 20)
  --prompt N      GPT-2 prompt length: latency input and generation prompt (default 128)
  --new N         tokens to generate with and without the KV cache (default 32; 0 skips)
  --torch-dir DIR where bench/torch_export_seq.py wrote torch_vit_b_16.onnx and
                  torch_gpt2_small.onnx (default /tmp/dlm-bench; skipped when missing)
  --out PATH      results file (default bench/results_seq.json)
  --skip-compile  leave out the compile-time benchmarks
  --help          this text`;

/**
 * Parse `--name value` / `--name=value` options. Unknown options and bad
 * numbers raise an Error whose message is meant for the user.
 */
export function parseSeqBenchArgs(argv: readonly string[], defaultOut: string): SeqBenchArgs {
  const a: SeqBenchArgs = {
    runs: 3,
    ortRuns: 20,
    prompt: 128,
    newTokens: 32,
    torchDir: "/tmp/dlm-bench",
    out: defaultOut,
    skipCompile: false,
    help: false,
  };
  const int = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      throw new Error(`Option ${name} expects an integer >= ${min}, got '${v}'`);
    }
    return n;
  };
  const known = ["--runs", "--ort-runs", "--prompt", "--new", "--torch-dir", "--out"];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      a.help = true;
      continue;
    }
    if (arg === "--skip-compile") {
      a.skipCompile = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    if (!known.includes(name)) {
      throw new Error(
        `Unknown option '${arg}'; expected one of ${[...known, "--skip-compile"].join(", ")}`,
      );
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    else throw new Error(`Option ${name} needs a value`);
    if (name === "--runs") a.runs = int(name, value, 1);
    else if (name === "--ort-runs") a.ortRuns = int(name, value, 20);
    // GPT-2 small has 1024 positions: the prompt and the new tokens must fit (checked in main).
    else if (name === "--prompt") a.prompt = int(name, value, 1);
    else if (name === "--new") a.newTokens = int(name, value, 0);
    else if (name === "--torch-dir") a.torchDir = value;
    else a.out = value;
  }
  if (a.prompt + a.newTokens > 1024) {
    throw new Error(
      `GPT-2 small has 1024 positions, but --prompt ${a.prompt} and --new ${a.newTokens} need ${
        a.prompt + a.newTokens
      }`,
    );
  }
  return a;
}

/**
 * Per-token figures of one generation run from its per-call times: the
 * first call (the prompt, and the session's first run) apart, then the
 * median and mean of the others.
 *
 * @example
 * ```ts
 * tokenTimes([50, 10, 12, 11]); // { first: 50, median: 11, mean: 11, total: 83 }
 * ```
 */
export function tokenTimes(
  stepMs: readonly number[],
): { first: number; median: number; mean: number; total: number } {
  if (stepMs.length === 0) throw new RangeError("tokenTimes() of no steps");
  const rest = stepMs.slice(1);
  const total = stepMs.reduce((s, x) => s + x, 0);
  if (rest.length === 0) return { first: stepMs[0], median: NaN, mean: NaN, total };
  return {
    first: stepMs[0],
    median: summarize(rest).median,
    mean: rest.reduce((s, x) => s + x, 0) / rest.length,
    total,
  };
}

/** The largest |a_i - b_i| of two equally long float arrays (NaN if a value is NaN). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new RangeError(`maxAbsDiff() of ${a.length} and ${b.length} values`);
  }
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // also takes a NaN, which then sticks
    if (Number.isNaN(m)) return NaN;
  }
  return m;
}

function log(msg: string): void {
  console.error(`bench:seq: ${msg}`);
}

/** One model compiled for one target: the ONNX bytes and how long the whole path took. */
interface Emitted {
  bytes: Uint8Array;
  compileMs: number;
}

function emitFor(file: string, model: string, target: Target): Emitted {
  gc();
  const t0 = performance.now();
  const g = compiled(pathOf(new URL(file, EXAMPLES)), model);
  runPasses(g, pipelineFor(target, "eval"), { mode: "eval" });
  const bytes = emitModel(g).model;
  return { bytes, compileMs: performance.now() - t0 };
}

/** Uniform [0, 1) values from a fixed linear congruential sequence: the same input every run. */
function lcg(n: number, seed: number): number[] {
  const out = new Array<number>(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32;
  }
  return out;
}

function seededImage(shape: number[], seed = 1): Tensor {
  return tensor("f32", shape, lcg(numel(shape), seed));
}

function seededIds(shape: number[], vocab: number, seed = 1): Tensor {
  return tensor("i64", shape, lcg(numel(shape), seed).map((u) => Math.floor(u * vocab)));
}

/**
 * onnxruntime-node latency of several models on one input, fed to each
 * model's first input. The models take turns run by run (a, b, c, a, ...)
 * after their warm-ups, so a burst of load from another process slows all
 * of them alike instead of one.
 */

/** One model's row of the latency comparison. */
interface LatencyRow {
  what: string;
  source: "dlm" | "torch.onnx.export";
  target?: Target;
  input: number[];
  threads: number;
  compileMs?: number;
  export?: Record<string, unknown>;
  sessionCreateMs: number;
  latency: Timing;
  stats: OnnxStats;
}

interface Comparison {
  model: string;
  input: number[];
  rows: LatencyRow[];
  /** max |logits(onnx target) - logits(ort target)| on the same input (same weights). */
  targetsMaxAbsDiff: number;
  torch: { status: "measured" | "skipped"; path: string; reason?: string };
}

async function compare(
  what: string,
  file: string,
  model: string,
  input: Tensor,
  torchPath: string,
  runs: number,
): Promise<Comparison> {
  log(`compiling ${file} (${model}) for the onnx and ort targets`);
  const targets: Target[] = ["onnx", "ort"];
  const emitted = targets.map((t) => emitFor(file, model, t));
  const withTorch = exists(torchPath);
  const models: OrtModel[] = emitted.map((e) => ({ model: e.bytes }));
  if (withTorch) models.push({ model: torchPath });
  const names = [...targets, ...(withTorch ? ["torch"] : [])];
  log(`onnxruntime-node: ${what} (${names.join(", ")}), ${runs} runs`);
  const lat = await ortLatencies(models, input, runs);
  const rows: LatencyRow[] = targets.map((t, i) => ({
    what,
    source: "dlm",
    target: t,
    input: input.shape,
    threads: ORT_THREADS,
    compileMs: emitted[i].compileMs,
    sessionCreateMs: lat[i].sessionCreateMs,
    latency: lat[i].latency,
    stats: onnxStats(emitted[i].bytes),
  }));
  if (withTorch) {
    rows.push({
      what,
      source: "torch.onnx.export",
      input: input.shape,
      threads: ORT_THREADS,
      export: readJson(torchPath.replace(/\.onnx$/, "") + ".json"),
      sessionCreateMs: lat[2].sessionCreateMs,
      latency: lat[2].latency,
      stats: onnxStats(Deno.readFileSync(torchPath)),
    });
  }
  return {
    model: `${file} ${model}`,
    input: input.shape,
    rows,
    targetsMaxAbsDiff: maxAbsDiff(
      lat[0].firstOutput.data as Float32Array,
      lat[1].firstOutput.data as Float32Array,
    ),
    torch: withTorch ? { status: "measured", path: torchPath } : {
      status: "skipped",
      path: torchPath,
      reason: `no ${torchPath}; make it with /usr/bin/python3 bench/torch_export_seq.py`,
    },
  };
}

/** One model of one example file: compile times as bench.ts measures them. */

/** Every model declared in each of `files` (not those it imports). */
function modelsOf(files: string[]): { file: string; model: string }[] {
  const out: { file: string; model: string }[] = [];
  for (const file of files) {
    const path = pathOf(new URL(file, EXAMPLES));
    const { file: ast } = parse(Deno.readTextFileSync(path), path);
    for (const d of ast.decls) if (d.kind === "model") out.push({ file, model: d.name });
  }
  return out;
}

/** Greedy generation with and without the KV cache, or why it was skipped. */
interface GenerationBench {
  status: "measured" | "skipped";
  reason?: string;
  prompt?: number;
  newTokens?: number;
  target?: Target;
  cached?: GenerationRun;
  uncached?: GenerationRun;
  /** Whether greedy decoding gave the same tokens both ways. */
  sameTokens?: boolean;
  /** Median per-token time without the cache over with it. */
  speedup?: number;
}

interface GenerationRun {
  model: string;
  compileMs: number;
  /** The first call: the whole prompt, and the session's first run. */
  firstMs: number;
  /** Median and mean of the later calls: one new token each. */
  perTokenMedianMs: number;
  perTokenMeanMs: number;
  totalMs: number;
  stepMs: number[];
  tokens: number[];
}

/** The generation API of runtime/generate.ts, as far as this bench uses it. */
type GenerateFn = (o: {
  model: Uint8Array;
  prompt: number[][];
  maxNew: number;
  cached: boolean;
  threads: number;
}) => Promise<{ tokens: number[][]; stepMs: number[] }>;

async function benchGeneration(args: SeqBenchArgs): Promise<GenerationBench> {
  if (args.newTokens === 0) return { status: "skipped", reason: "--new 0" };
  const url = new URL("runtime/generate.ts", ROOT);
  if (!exists(pathOf(url))) {
    return { status: "skipped", reason: "skipped: runtime/generate.ts not found" };
  }
  // Imported only here, so the rest of the bench runs while generate.ts is being written.
  const { generate } = (await import(url.href)) as { generate: GenerateFn };
  const target: Target = "ort";
  const prompt = [lcg(args.prompt, 7).map((u) => Math.floor(u * 50257))];
  const run = async (model: string, cached: boolean): Promise<GenerationRun> => {
    log(`generation: ${model} (${cached ? "KV cache" : "whole sequence each token"})`);
    const e = emitFor("gpt2.dlm", model, target);
    const r = await generate({
      model: e.bytes,
      prompt,
      maxNew: args.newTokens,
      cached,
      threads: ORT_THREADS,
    });
    const t = tokenTimes(r.stepMs);
    return {
      model,
      compileMs: e.compileMs,
      firstMs: t.first,
      perTokenMedianMs: t.median,
      perTokenMeanMs: t.mean,
      totalMs: t.total,
      stepMs: r.stepMs,
      tokens: r.tokens[0],
    };
  };
  let cached: GenerationRun;
  try {
    cached = await run("GPT2SmallCached", true);
  } catch (e) {
    return {
      status: "skipped",
      reason: `GPT2SmallCached failed: ${(e as Error).message?.split("\n")[0] ?? e}`,
    };
  }
  const uncached = await run("GPT2Small", false);
  return {
    status: "measured",
    prompt: args.prompt,
    newTokens: args.newTokens,
    target,
    cached,
    uncached,
    sameTokens: cached.tokens.join() === uncached.tokens.join(),
    speedup: uncached.perTokenMedianMs / cached.perTokenMedianMs,
  };
}

interface Results {
  date: string;
  machine: MachineFacts;
  /** Load averages when the bench finished (the machine facts hold those at its start). */
  loadAverageAtEnd?: number[];
  settings: Omit<SeqBenchArgs, "help" | "out">;
  latency: Comparison[];
  compile: CompileBench[];
  generation: GenerationBench;
}

function printComparison(c: Comparison, runs: number): void {
  console.log(
    `${c.model}: onnxruntime-node latency, input [${c.input.join(", ")}] (ms; ${ORT_THREADS} ` +
      `intra-op threads, median of ${runs} runs after ${ORT_WARMUP} warm-ups, models in turn)`,
  );
  console.log(formatTable(
    [
      { header: "graph" },
      { header: "nodes", right: true },
      { header: "median", right: true },
      { header: "min", right: true },
      { header: "max", right: true },
      { header: "vs torch", right: true },
      { header: "session", right: true },
      { header: "compile/export", right: true },
    ],
    c.rows.map((r) => {
      const torch = c.rows.find((x) => x.source !== "dlm");
      const ex = r.export?.export_seconds;
      return [
        r.source === "dlm" ? `dlm --target ${r.target}` : "torch.onnx.export",
        count(r.stats.nodes),
        ms(r.latency.median),
        ms(r.latency.min),
        ms(r.latency.max),
        torch ? (r.latency.median / torch.latency.median).toFixed(3) : "",
        ms(r.sessionCreateMs),
        r.compileMs !== undefined
          ? `${ms(r.compileMs)}`
          : typeof ex === "number"
          ? `${ms(ex * 1000)}`
          : "?",
      ];
    }),
  ));
  console.log(`max |logits(onnx) - logits(ort)| = ${c.targetsMaxAbsDiff.toExponential(2)}`);
  if (c.torch.status === "skipped") console.log(`torch comparison: skipped (${c.torch.reason})`);
  const hist: Record<string, OnnxStats> = {};
  for (const r of c.rows) hist[r.source === "dlm" ? `dlm ${r.target}` : "torch"] = r.stats;
  console.log(formatOpComparison(hist));
  console.log();
}

async function main(argv: string[]): Promise<number> {
  let args: SeqBenchArgs;
  try {
    args = parseSeqBenchArgs(argv, pathOf(new URL("bench/results_seq.json", ROOT)));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${SEQ_USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(SEQ_USAGE);
    return 0;
  }
  const machine = machineFacts();
  console.log(formatMachineFacts(machine));
  console.log();

  // 1 and 2: latency of dlm's two targets and torch.onnx.export's graph, model by model.
  const latency: Comparison[] = [];
  latency.push(
    await compare(
      "GPT-2 small",
      "gpt2.dlm",
      "GPT2Small",
      seededIds([1, args.prompt], 50257),
      `${args.torchDir}/torch_gpt2_small.onnx`,
      args.ortRuns,
    ),
  );
  printComparison(latency[0], args.ortRuns);
  gc();
  latency.push(
    await compare(
      "ViT-B/16",
      "vit.dlm",
      "ViTB16",
      seededImage([1, 3, 224, 224]),
      `${args.torchDir}/torch_vit_b_16.onnx`,
      args.ortRuns,
    ),
  );
  printComparison(latency[1], args.ortRuns);
  gc();

  // 3: compile times.
  const compile: CompileBench[] = [];
  if (!args.skipCompile) {
    for (const { file, model } of modelsOf(TRANSFORMER_FILES)) {
      log(`compiling ${file} (${model})`);
      compile.push(
        benchCompile(
          pathOf(new URL(file, EXAMPLES)),
          file,
          model,
          args.runs,
          pipelineFor("onnx", "eval"),
        ),
      );
    }
    console.log(
      `Compile times of the Transformer examples (ms, median of ${args.runs} runs after a ` +
        `warm-up; check = parse + check + elaborate, weights initialised lazily so not ` +
        `included; compile = elaborate + weight init + passes (--target onnx) + emit)`,
    );
    console.log(formatCompileTable(compile));
    console.log();
    gc();
  }

  // 4: KV-cache generation.
  const generation = await benchGeneration(args);
  if (generation.status === "measured") {
    const g = generation;
    console.log(
      `GPT-2 small generation, --target ${g.target}, batch 1, ${g.prompt}-token prompt, ` +
        `${g.newTokens} new tokens, greedy (ms; onnxruntime-node, ${ORT_THREADS} threads; ` +
        `first = the prompt call, including the session's first run; per token = the other calls)`,
    );
    console.log(formatTable(
      [
        { header: "mode" },
        { header: "first", right: true },
        { header: "per token (median)", right: true },
        { header: "(mean)", right: true },
        { header: "total", right: true },
      ],
      [g.cached!, g.uncached!].map((r) => [
        r === g.cached ? "KV cache (GPT2SmallCached)" : "whole sequence (GPT2Small)",
        ms(r.firstMs),
        ms(r.perTokenMedianMs),
        ms(r.perTokenMeanMs),
        ms(r.totalMs),
      ]),
    ));
    console.log(
      `per-token speed-up with the cache: ${g.speedup!.toFixed(1)}x; same tokens both ways: ${
        g.sameTokens ? "yes" : "NO"
      }`,
    );
  } else {
    console.log(`generation: ${generation.reason}`);
  }

  const loadavg = machineFacts().loadAverage;
  console.log(`\nload average at the end: ${loadavg?.join(" ") ?? "unknown"}`);
  const { help: _h, out: _o, ...settings } = args;
  const results: Results = {
    date: new Date().toISOString(),
    machine,
    loadAverageAtEnd: loadavg,
    settings,
    latency,
    compile,
    generation,
  };
  writeFileAtomic(args.out, JSON.stringify(results, null, 2) + "\n");
  console.log(`wrote ${args.out}`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    // A benchmark is a developer tool: say what failed, without a stack trace.
    console.error(`bench:seq: ${(e as Error).message ?? e}`);
    Deno.exit(1);
  }
}
