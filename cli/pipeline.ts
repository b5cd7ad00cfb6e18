/**
 * The shared front half of every command: a .dlm file compiled (or an .onnx
 * file decoded), weights loaded, graph passes run.
 */
import type { Graph } from "../compiler/ir/graph.ts";
import { type Diagnostic, DlmError, SourceMap } from "../compiler/diagnostics.ts";
import { compileFile, hasErrors } from "../compiler/compile.ts";
import type { Program } from "../compiler/check/program.ts";
import { decodeModel } from "../compiler/onnx/decode.ts";
import {
  formatPassReport,
  newPassReport,
  pipelineFor,
  runPasses,
  type Target,
} from "../compiler/passes/mod.ts";
import { loadWeights, readWeightsMap } from "../runtime/weights.ts";
import { readFileOrFail } from "../runtime/fs.ts";

export interface BuildOptions {
  model?: string;
  mode?: "eval" | "train";
  seed?: number;
  weights?: string;
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
}

export function isOnnxPath(path: string): boolean {
  return path.toLowerCase().endsWith(".onnx");
}

export function buildGraph(path: string, o: BuildOptions = {}): Built {
  const warnings: Diagnostic[] = [];
  let graph: Graph;
  let sources = new SourceMap();
  let program: Program | undefined;
  const onnx = isOnnxPath(path);
  if (onnx) {
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
    graph = decodeModel(readFileOrFail(path, "model"), { baseDir: dir, file: path }).graph;
  } else {
    if (!path.toLowerCase().endsWith(".dlm")) {
      throw new DlmError({
        code: "DLM0501",
        severity: "error",
        message: `Expected a .dlm or .onnx file, got '${path}'`,
      });
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
  if (o.weights) {
    const rules = o.weightsMap ? readWeightsMap(o.weightsMap) : [];
    warnings.push(...loadWeights(graph, o.weights, rules).warnings);
  } else if (o.weightsMap) {
    throw new DlmError({
      code: "DLM0501",
      severity: "error",
      message: "--weights-map needs --weights",
    });
  }
  const built: Built = { graph, sources, warnings, program, isOnnx: onnx };
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
    if (o.explainPasses) built.passReport = formatPassReport(report);
  }
  return built;
}
