/**
 * `deno task bench`: how fast dlm compiles its examples and how fast their
 * models run, with the machine they ran on. Prints tables and writes
 * bench/results.json (or `--out`).
 *
 * - compile: every model of every lang-examples/*.dlm at its default (full)
 *   size, in-process: `parse()` alone; parse + check + elaborate
 *   (`compileFile`; parameters are initialised lazily, on first read, so
 *   this excludes weight initialisation); and the whole path to ONNX bytes
 *   (elaborate, weight initialisation, eval passes, `emitModelParts`), each phase
 *   timed. Median of `--runs` runs after one warm-up.
 * - onnxruntime-node: ResNet-50 as dlm emits it, batch 1 at 224x224, 2
 *   intra-op threads; median of `--ort-runs` (>= 20) runs after 3 warm-ups.
 * - reference interpreter: LeNet-5 (batch 1) and ResNet-18 (batch 1, 224),
 *   on the graphs after the eval passes (what is emitted).
 * - torch: when bench/torch_export.py has written torchvision's ResNet-50
 *   (`--torch-onnx`, default /tmp/dlm-bench/torch_resnet50.onnx), the same
 *   onnxruntime measurement on it, and both models' node counts and operator
 *   histograms; otherwise "skipped".
 */
import type { Graph } from "../compiler/ir/graph.ts";
import { numel, type Tensor, tensor } from "../compiler/ir/tensor.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { inferencePipeline, runPasses } from "../compiler/passes/mod.ts";
import { parse } from "../compiler/syntax/mod.ts";
import { writeFileAtomic } from "../runtime/fs.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { type BenchArgs, parseBenchArgs, USAGE } from "./args.ts";
import { formatMachineFacts, type MachineFacts, machineFacts } from "./machine.ts";
import { formatOpComparison, type OnnxStats, onnxStats } from "./onnx_stats.ts";
import { timeSync, type Timing } from "./stats.ts";
import { formatTable, ms } from "./table.ts";
import {
  benchCompile,
  type CompileBench,
  compiled,
  exists,
  formatCompileTable,
  ORT_THREADS,
  ORT_WARMUP,
  ortLatencies,
  type OrtModel,
  pathOf,
  readJson,
} from "./shared.ts";

const ROOT = new URL("../", import.meta.url);
const EXAMPLES = new URL("lang-examples/", ROOT);

interface LatencyBench {
  what: string;
  backend: "onnxruntime-node" | "reference";
  input: number[];
  threads?: number;
  sessionCreateMs?: number;
  latency: Timing;
}

interface TorchComparison {
  status: "measured" | "skipped";
  reason?: string;
  path?: string;
  export?: Record<string, unknown>;
  latency?: Timing;
  sessionCreateMs?: number;
  stats?: { dlm: OnnxStats; torch: OnnxStats };
}

interface Results {
  date: string;
  machine: MachineFacts;
  settings: Omit<BenchArgs, "help" | "out">;
  compile: CompileBench[];
  latency: LatencyBench[];
  torch: TorchComparison;
}

function log(msg: string): void {
  console.error(`bench: ${msg}`);
}

function optimized(path: string, model?: string): Graph {
  const g = compiled(path, model);
  runPasses(g, inferencePipeline("eval"), { mode: "eval" });
  return g;
}

/** Uniform [0, 1) values from a fixed linear congruential sequence: the same input every run. */
function seededInput(shape: number[], seed = 1): Tensor {
  const data = new Float32Array(numel(shape));
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 32;
  }
  return tensor("f32", shape, data);
}

/** Every model declared in each example file (not those it imports), files in name order. */
function exampleModels(only?: string): { file: string; model: string }[] {
  const files = [...Deno.readDirSync(EXAMPLES)]
    .filter((e) => e.isFile && e.name.endsWith(".dlm") && (!only || e.name.includes(only)))
    .map((e) => e.name)
    .sort();
  const out: { file: string; model: string }[] = [];
  for (const file of files) {
    const path = pathOf(new URL(file, EXAMPLES));
    const { file: ast } = parse(Deno.readTextFileSync(path), path);
    for (const d of ast.decls) if (d.kind === "model") out.push({ file, model: d.name });
  }
  return out;
}

/**
 * onnxruntime-node latency of several models on one input. The models take
 * turns run by run (a, b, a, b, ...) after their warm-ups, so a burst of
 * load from another process slows all of them alike instead of one.
 */

async function main(argv: string[]): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv, pathOf(new URL("bench/results.json", ROOT)));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const machine = machineFacts();
  console.log(formatMachineFacts(machine));
  console.log();

  // Compile times.
  const compile: CompileBench[] = [];
  for (const { file, model } of exampleModels(args.only)) {
    log(`compiling ${file} (${model})`);
    compile.push(
      benchCompile(
        pathOf(new URL(file, EXAMPLES)),
        file,
        model,
        args.runs,
        inferencePipeline("eval"),
      ),
    );
  }
  console.log(
    `Compile times (ms, median of ${args.runs} runs after a warm-up; ` +
      `check = parse + check + elaborate, weights initialised lazily so not included; ` +
      `compile = elaborate + weight init + passes + emit)`,
  );
  console.log(formatCompileTable(compile));
  console.log();

  // Latencies.
  const latency: LatencyBench[] = [];
  const resnet50 = emitModel(optimized(pathOf(new URL("resnet50.dlm", EXAMPLES)))).model;
  const image224 = seededInput([1, 3, 224, 224]);
  // torchvision's ResNet-50 through torch.onnx.export, when there is one, runs in turn with dlm's.
  const withTorch = exists(args.torchOnnx);
  const ortModels: OrtModel[] = [{ model: resnet50, feed: "image" }];
  if (withTorch) ortModels.push({ model: args.torchOnnx });
  log(`onnxruntime-node: ResNet-50 (dlm${withTorch ? ` and ${args.torchOnnx}` : ""})`);
  const [dlmOrt, torchOrt] = await ortLatencies(ortModels, image224, args.ortRuns);
  const ortRow = (what: string, t: typeof dlmOrt): LatencyBench => ({
    what,
    backend: "onnxruntime-node",
    input: image224.shape,
    threads: ORT_THREADS,
    latency: t.latency,
    sessionCreateMs: t.sessionCreateMs,
  });
  latency.push(ortRow("ResNet-50 (dlm)", dlmOrt));
  let torch: TorchComparison;
  if (torchOrt) {
    latency.push(ortRow("ResNet-50 (torch.onnx.export)", torchOrt));
    torch = {
      status: "measured",
      path: args.torchOnnx,
      export: readJson(args.torchOnnx.replace(/\.onnx$/, "") + ".json"),
      latency: torchOrt.latency,
      sessionCreateMs: torchOrt.sessionCreateMs,
      stats: { dlm: onnxStats(resnet50), torch: onnxStats(Deno.readFileSync(args.torchOnnx)) },
    };
  } else {
    torch = {
      status: "skipped",
      reason: `no ${args.torchOnnx}; make it with python3 bench/torch_export.py`,
    };
  }

  log("reference interpreter: LeNet-5");
  const lenet = optimized(pathOf(new URL("lenet5.dlm", EXAMPLES)));
  const image32 = seededInput([1, 1, 32, 32]);
  latency.push({
    what: "LeNet-5",
    backend: "reference",
    input: image32.shape,
    latency: timeSync(() => runGraph(lenet, { image: image32 }), {
      warmup: 3,
      runs: 4 * args.refRuns,
    }),
  });
  log("reference interpreter: ResNet-18");
  const resnet18 = optimized(pathOf(new URL("resnet18.dlm", EXAMPLES)));
  latency.push({
    what: "ResNet-18",
    backend: "reference",
    input: image224.shape,
    latency: timeSync(() => runGraph(resnet18, { image: image224 }), {
      warmup: 1,
      runs: args.refRuns,
    }),
  });

  console.log(
    `Inference latency, batch 1 (ms; onnxruntime-node: ${ORT_THREADS} intra-op threads, ` +
      `median of ${args.ortRuns} runs after ${ORT_WARMUP} warm-ups, models in turn; reference: graph after eval passes)`,
  );
  console.log(formatTable(
    [
      { header: "model" },
      { header: "backend" },
      { header: "input" },
      { header: "median", right: true },
      { header: "min", right: true },
      { header: "max", right: true },
      { header: "runs", right: true },
      { header: "session", right: true },
    ],
    latency.map((l) => [
      l.what,
      l.backend,
      `[${l.input.join(", ")}]`,
      ms(l.latency.median),
      ms(l.latency.min),
      ms(l.latency.max),
      String(l.latency.runs.length),
      l.sessionCreateMs !== undefined ? ms(l.sessionCreateMs) : "",
    ]),
  ));
  console.log();

  if (torch.status === "measured") {
    const ex = torch.export ?? {};
    console.log(
      `torch ResNet-50: export ${
        typeof ex.export_seconds === "number" ? `${ex.export_seconds.toFixed(2)} s` : "time unknown"
      } (torch ${ex.torch ?? "?"}, torchvision ${ex.torchvision ?? "?"}), eager ${
        typeof ex.eager_batch1_ms_median === "number" ? `${ms(ex.eager_batch1_ms_median)} ms` : "?"
      } at batch 1 on ${ex.eager_threads ?? "?"} threads; onnxruntime dlm / torch = ${
        (dlmOrt.latency.median / torch.latency!.median).toFixed(3)
      }`,
    );
    console.log(formatOpComparison(torch.stats!));
  } else {
    console.log(`torch comparison: skipped (${torch.reason})`);
  }

  const { help: _h, out: _o, ...settings } = args;
  const results: Results = {
    date: new Date().toISOString(),
    machine,
    settings,
    compile,
    latency,
    torch,
  };
  writeFileAtomic(args.out, JSON.stringify(results, null, 2) + "\n");
  console.log(`\nwrote ${args.out}`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    // A benchmark is a developer tool: say what failed, without a stack trace.
    console.error(`bench: ${(e as Error).message ?? e}`);
    Deno.exit(1);
  }
}
