/**
 * The compiler's front door: source file -> checked graph. Model selection:
 * `--model NAME`, else the first model declared in the main file.
 */
import type { Graph } from "./ir/graph.ts";
import {
  dedupeDiagnostics,
  diag,
  type Diagnostic,
  error,
  fileStart,
  SourceMap,
} from "./diagnostics.ts";
import {
  isProgram,
  loadProgram,
  type Program,
  type ReadFile,
  readFromDisk,
} from "./check/program.ts";
import { type ElabOptions, elaborate } from "./check/elaborate/mod.ts";
import { resolveNames } from "./check/resolve.ts";
import type { ModelDecl } from "./syntax/ast.ts";
import { isStackOverflow } from "./syntax/mod.ts";

export interface CompileOptions extends ElabOptions {
  model?: string;
  read?: ReadFile;
}

export interface CompileResult {
  graph?: Graph;
  program?: Program;
  model?: ModelDecl;
  diagnostics: Diagnostic[];
  sources: SourceMap;
}

export function hasErrors(ds: Diagnostic[]): boolean {
  return ds.some((d) => d.severity === "error");
}

/** Pick the model to build, or explain why none can be picked. */
export function selectModel(p: Program, name?: string): ModelDecl | Diagnostic {
  if (name) {
    const m = p.models.get(name);
    if (m) return m;
    const names = [...p.models.keys()].join(", ") || "none";
    return error(...diag("DLM0103", name, names));
  }
  const first = p.main.decls.find((d) => d.kind === "model") as ModelDecl | undefined;
  // A derived model's complete declaration is the one in `models`.
  if (first) return p.models.get(first.name) ?? first;
  return error(...diag("DLM0125", p.main.path), fileStart(p.main.path));
}

/** Parse, check and build the graph of one model. Never throws for bad input. */
export function compileFile(path: string, opts: CompileOptions = {}): CompileResult {
  const at: { program?: Program; model?: ModelDecl } = {};
  try {
    return compileUnchecked(path, opts, at);
  } catch (e) {
    if (!isStackOverflow(e)) throw e;
    // The parser bounds nesting and the elaborator reports a recursion that runs out of stack at
    // the block application; this is the last resort, at the model (or the file).
    const span = at.model?.nameSpan ?? fileStart(path);
    return {
      program: at.program,
      diagnostics: [
        error(...diag("DLM0314", path, "compile"), span),
      ],
      sources: at.program?.sources ?? new SourceMap(),
    };
  }
}

function compileUnchecked(
  path: string,
  opts: CompileOptions,
  at: { program?: Program; model?: ModelDecl },
): CompileResult {
  const loaded = loadProgram(path, opts.read ?? readFromDisk);
  if (!isProgram(loaded)) return { diagnostics: loaded.diagnostics, sources: loaded.sources };
  const program = at.program = loaded;
  if (hasErrors(program.diagnostics)) {
    return { program, diagnostics: program.diagnostics, sources: program.sources };
  }
  const model = selectModel(program, opts.model);
  if (!("kind" in model)) return { program, diagnostics: [model], sources: program.sources };
  at.model = model;
  const resolved = resolveNames(program);
  const { graph, diagnostics } = elaborate(program, model, opts);
  const all = dedupeDiagnostics([...program.diagnostics, ...resolved, ...diagnostics]);
  return {
    graph: hasErrors(all) ? undefined : graph,
    program,
    model,
    diagnostics: all,
    sources: program.sources,
  };
}
