/**
 * The shared front half of every command: a .dlm file compiled (or an .onnx
 * file decoded), weights loaded, graph passes run.
 *
 * Reading ONNX files (an .onnx model, ONNX or safetensors weights) is passed
 * in (`OnnxInput`): the decoder loads onnx-proto, about 25 ms of CPU that
 * `dlm compile` of a .dlm file without `--weights` does not need.
 * pipeline.ts's `buildGraph` passes it always; `dlm compile` only when its
 * input asks for it (`needsOnnxInput`).
 */
import type { Graph } from "../compiler/ir/graph.ts";
import {
  diag,
  type Diagnostic,
  DlmError,
  error,
  SourceMap,
  warning,
} from "../compiler/diagnostics.ts";
import { compileFile, hasErrors } from "../compiler/compile.ts";
import type { Program } from "../compiler/check/program.ts";
import type { decodeModel } from "../compiler/onnx/decode.ts";
import {
  formatPassReport,
  newPassReport,
  pipelineFor,
  runPasses,
  type Target,
  TARGETS,
} from "../compiler/passes/mod.ts";
import type { loadWeights, readWeightsMap } from "../runtime/weights.ts";
import { readFileOrFail } from "../runtime/fs.ts";
import { mergeAdapters } from "../compiler/passes/merge_adapters.ts";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { dimsOf, overridesOf, type Parsed, UsageError } from "./args.ts";
import { prepareInputs } from "../runtime/inputs.ts";
import { memoryBudget } from "../runtime/memory.ts";
import { warn } from "./report.ts";
import { type Io, modeOf } from "./command.ts";

/** What reading ONNX models and weights files takes (onnx_input.ts). */
export interface OnnxInput {
  decodeModel: typeof decodeModel;
  loadWeights: typeof loadWeights;
  readWeightsMap: typeof readWeightsMap;
}

/**
 * The ONNX reader, when building `path` with `o` needs one. Imported by a
 * computed specifier, for the reason `lazyCommand` (command.ts) gives.
 */
export async function onnxInputFor(path: string, o: BuildOptions): Promise<OnnxInput | undefined> {
  if (!needsOnnxInput(path, o)) return undefined;
  // The specifier written inline, so that the CLI's code cache can bundle it (code_cache_build.ts).
  const m = await import(import.meta.resolve("./onnx_input.ts"));
  return (m as { ONNX_INPUT: OnnxInput }).ONNX_INPUT;
}

/** Whether building `path` with `o` reads an ONNX model or a weights file. */
export function needsOnnxInput(path: string, o: BuildOptions): boolean {
  const weights = typeof o.weights === "string" ? [o.weights] : o.weights ?? [];
  return isOnnxPath(path) || weights.length > 0 || o.weightsMap !== undefined;
}

/** How a fine-tuned model's LoRA and IA3 updates are emitted (`--adapters`). */
export type AdapterMode = "unmerged" | "merged" | "inputs";
export const ADAPTER_MODES: readonly AdapterMode[] = ["unmerged", "merged", "inputs"];

export interface BuildOptions {
  /** Fine-tuning methods: kept beside the base (default), merged into it, or graph inputs. */
  adapters?: AdapterMode;
  model?: string;
  mode?: "eval" | "train";
  seed?: number;
  /** Weights files (safetensors or ONNX), loaded in order: a later one overrides an earlier one. */
  weights?: string | string[];
  weightsMap?: string;
  overrides?: Record<string, number | boolean | string>;
  /** Run the inference passes (default true). */
  passes?: boolean;
  /** Which runtime the graph is for: "onnx" (standard ops only, default) or "ort" (onnxruntime's fused contrib ops). */
  target?: Target;
  explainPasses?: boolean;
}

export interface Built {
  graph: Graph;
  sources: SourceMap;
  warnings: Diagnostic[];
  program?: Program;
  isOnnx: boolean;
  /** Graph before passes (parameters as declared). */
  declared?: Graph;
  passReport?: string;
  /** The fine-tuning methods' parameters (before any merge), for `--save-adapter`. */
  adapterWeights?: Map<string, Tensor>;
}

/** The parameters that fine-tuning methods created, by name. */
export function adapterWeights(g: Graph): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const p of g.params) {
    const t = p.adapter ? g.initializers.get(p.name) : undefined;
    if (t) out.set(p.name, t);
  }
  return out;
}

/**
 * `--adapters merged`: LoRA and IA3 folded into the base weights (bottleneck
 * adapters and prefixes stay: they do not fold). `--adapters inputs`: every
 * adapter parameter becomes a graph input whose initializer is its default,
 * so a session can swap adapters without recompiling.
 */
export function applyAdapterMode(
  g: Graph,
  o: BuildOptions,
  warnings: Diagnostic[],
): string | undefined {
  if (!o.adapters || o.adapters === "unmerged") return undefined;
  const adapters = g.params.filter((p) => p.adapter);
  if (adapters.length === 0) {
    warnings.push(warning(...diag("DLM0513", `--adapters ${o.adapters}`, g.name)));
    return undefined;
  }
  if (o.adapters === "merged") {
    if ((o.mode ?? "eval") === "train") {
      throw new DlmError(
        error(
          ...diag(
            "DLM0508",
            "--adapters merged",
            "--mode train",
            "merging builds an evaluation graph; in train mode adapters stay unmerged (their dropout runs)",
          ),
        ),
      );
    }
    const before = g.nodes.length;
    const r = mergeAdapters(g);
    // For --explain-passes: what folded, and how the graph shrank.
    return `merge_adapters  merged ${r.weights.length} weight${
      r.weights.length === 1 ? "" : "s"
    }  removed ${r.removed.length} adapter parameters  nodes ${before} -> ${g.nodes.length}\n` +
      r.weights.map((w) => `  ${w}`).join("\n");
  }
  const have = new Set(g.inputs.map((i) => i.name));
  for (const p of adapters) {
    const t = g.types.get(p.name);
    if (t && !have.has(p.name)) g.inputs.push({ name: p.name, type: t });
  }
  return undefined;
}

/** The build options of a command line (`--model`, `--mode`, `--target`, `--weights`, ...). */
export function buildOptionsOf(args: Parsed): BuildOptions {
  const mode = modeOf(args);
  const overrides = overridesOf(args);
  const target = (args.opts.target as string | undefined) ?? "onnx";
  if (!TARGETS.includes(target as Target)) {
    throw new UsageError(...diag("DLM0515", "--target", "onnx or ort", `'${target}'`));
  }
  return {
    model: args.opts.model as string | undefined,
    mode,
    target: target as Target,
    seed: (args.opts.seed as number | undefined) ?? 0,
    weights: (args.opts.weights as string[] | undefined) ?? [],
    weightsMap: args.opts["weights-map"] as string | undefined,
    overrides,
    adapters: adaptersOf(args),
  };
}

function adaptersOf(args: Parsed): AdapterMode | undefined {
  const a = args.opts.adapters as string | undefined;
  if (a === undefined) return undefined;
  if (!ADAPTER_MODES.includes(a as AdapterMode)) {
    throw new UsageError(
      ...diag("DLM0515", "--adapters", `one of ${ADAPTER_MODES.join(", ")}`, `'${a}'`),
    );
  }
  return a as AdapterMode;
}

/** `--opset N` (default 17; the option table's range holds it to the supported opsets). */
export function opsetOf(args: Parsed): number {
  return (args.opts.opset as number | undefined) ?? 17;
}

export function isOnnxPath(path: string): boolean {
  return path.toLowerCase().endsWith(".onnx");
}

export function buildGraphWith(
  path: string,
  o: BuildOptions,
  reader: OnnxInput | undefined,
): Built {
  const need = (): OnnxInput => {
    if (!reader) throw new Error("internal: buildGraphWith() needs the ONNX reader for this input");
    return reader;
  };
  const warnings: Diagnostic[] = [];
  let graph: Graph;
  let sources = new SourceMap();
  let program: Program | undefined;
  const onnx = isOnnxPath(path);
  if (onnx) {
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
    graph = need().decodeModel(readFileOrFail(path, "model"), { baseDir: dir, file: path }).graph;
  } else {
    if (!path.toLowerCase().endsWith(".dlm")) {
      throw new DlmError(
        error(...diag("DLM0501", "The command", "a .dlm or .onnx file", `'${path}'`)),
      );
    }
    const r = compileFile(path, {
      model: o.model,
      mode: o.mode,
      seed: o.seed,
      overrides: o.overrides,
    });
    sources = r.sources;
    program = r.program;
    warnings.push(...r.diagnostics.filter((d) => d.severity === "warning"));
    if (hasErrors(r.diagnostics) || !r.graph) {
      throw new DlmError(r.diagnostics.filter((d) => d.severity === "error"), r.sources);
    }
    graph = r.graph;
  }
  const weights = typeof o.weights === "string" ? [o.weights] : o.weights ?? [];
  if (weights.length) {
    const rules = o.weightsMap ? need().readWeightsMap(o.weightsMap) : [];
    warnings.push(...need().loadWeights(graph, weights, rules).warnings);
  } else if (o.weightsMap) {
    throw new DlmError(error(...diag("DLM0507", "--weights-map", "--weights")));
  }
  const built: Built = { graph, sources, warnings, program, isOnnx: onnx };
  built.adapterWeights = adapterWeights(graph);
  const merged = applyAdapterMode(graph, o, warnings);
  if (o.passes !== false && !onnx) {
    built.declared = {
      ...graph,
      params: [...graph.params],
      initializers: new Map(graph.initializers),
    };
    const report = newPassReport();
    runPasses(graph, pipelineFor(o.target ?? "onnx", o.mode ?? "eval"), {
      mode: o.mode ?? "eval",
      report,
    });
    if (o.explainPasses) {
      built.passReport = (merged ? merged + "\n" : "") + formatPassReport(report);
    }
  }
  return built;
}

/**
 * What `run` and `diff` start from: the graph built as pipeline.ts's `buildGraph` does (its
 * warnings printed), the ONNX reader loaded only when the input needs it, and its inputs, read
 * from `--input NAME=PATH.npy` files or drawn from the seed, with `--dim` sizing symbolic dims.
 */
export async function buildWithInputs(
  file: string,
  o: BuildOptions,
  args: Parsed,
  io: Io,
): Promise<{ built: Built; feeds: Record<string, Tensor> }> {
  const built = buildGraphWith(file, o, await onnxInputFor(file, o));
  warn(built, io);
  const feeds = prepareInputs(built.graph, {
    files: args.opts.input as string[],
    seed: o.seed,
    dims: dimsOf(args),
    memoryBudget: memoryBudget(args.opts["memory-budget"] as string | undefined),
  });
  return { built, feeds };
}
