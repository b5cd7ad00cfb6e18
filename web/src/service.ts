/**
 * What the playground's worker does (worker.ts is its message loop): the requests of protocol.ts
 * answered with the compiler, the reference interpreter and onnxruntime-web, over a workspace of
 * files held in memory. Nothing here touches a disk, so the same code runs under `deno test`.
 */
import { compileFile, type CompileResult, hasErrors } from "../../compiler/compile.ts";
import type { ReadFile } from "../../compiler/check/program.ts";
import { type Diagnostic, DlmError } from "../../compiler/diagnostics.ts";
import type { Graph } from "../../compiler/ir/graph.ts";
import type { Tensor } from "../../compiler/ir/tensor.ts";
import { pipelineFor, runPasses } from "../../compiler/passes/mod.ts";
import { emitModel } from "../../compiler/onnx/emit.ts";
import { graphToSvg } from "../../compiler/viz/mod.ts";
import { prepareInputs } from "../../runtime/inputs.ts";
import { diffGraph, formatDiff } from "../../runtime/diff/diff.ts";
import { createSession, lastBackend, type WebBackend, webGpuFallback } from "./ort_web.ts";
import type {
  DiffSummary,
  OutputSummary,
  Request,
  Response,
  TensorInfo,
  WebDiagnostic,
} from "./protocol.ts";
import { outputSummary } from "./stats.ts";
import { graphLinks } from "./graph_links.ts";
import { readNpy } from "../../runtime/formats/npy.ts";

/** A workspace: file texts by relative path (`lib/transformer.dlm`). */
export type Workspace = Readonly<Record<string, string>>;

/** The compiler's file reader over `files`, with the editor's file (`path`, `text`) on top. */
export function workspaceReader(files: Workspace, path: string, text: string): ReadFile {
  return (p) => {
    const key = p.replace(/^\.\//, "");
    if (key === path) return text;
    const t = Object.hasOwn(files, key) ? files[key] : undefined;
    return t ?? new Error("no such file in the page's workspace");
  };
}

function toWeb(ds: Diagnostic[]): WebDiagnostic[] {
  return ds.map((d) => ({
    code: d.code,
    severity: d.severity === "error" ? "error" : d.severity === "warning" ? "warning" : "info",
    message: d.message + (d.notes?.length ? "\n" + d.notes.join("\n") : ""),
    ...(d.span ? { ...d.span } : {}),
  }));
}

function compile(r: Request, files: Workspace): CompileResult {
  return compileFile(r.path, {
    model: r.model,
    mode: "eval",
    seed: 0,
    read: workspaceReader(files, r.path, r.text),
  });
}

/** The graph as `dlm run` and `dlm compile` build it: eval mode, the inference passes run. */
function built(c: CompileResult): Graph | undefined {
  if (!c.graph || hasErrors(c.diagnostics)) return undefined;
  runPasses(c.graph, pipelineFor("onnx", "eval"), { mode: "eval" });
  return c.graph;
}

function inputsOf(g: Graph): TensorInfo[] {
  return g.inputs.map((i) => ({ name: i.name, dtype: i.type.dtype, shape: [...i.type.shape] }));
}

const BUDGET = { bytes: 1 << 30, origin: "the playground's 1 GiB budget" };

async function runAndDiff(
  g: Graph,
  dims: Record<string, number>,
  seed: number,
  uploads: { input: string; file: string; bytes: Uint8Array }[] = [],
): Promise<
  { outputs: OutputSummary[]; backend: WebBackend; note?: string; diff: DiffSummary }
> {
  const feeds: Record<string, Tensor> = prepareInputs(g, {
    seed,
    dims,
    // Uploaded .npy files, checked against the inputs as `dlm run --input` checks its files.
    // Files picked for inputs an earlier version of the program had are left out.
    tensors: uploads.filter((u) => g.inputs.some((i) => i.name === u.input)).map((u) => ({
      name: u.input,
      file: u.file,
      tensor: readNpy(u.bytes, u.file),
    })),
    dimsOption: "the dims form's",
    memoryBudget: BUDGET,
  });
  const { model } = emitModel(g);
  const session = await createSession(model);
  let got: Record<string, Tensor>;
  try {
    got = await session.run(feeds);
  } finally {
    await session.release();
  }
  // Read after the run: a WebGPU session whose run failed has moved to WASM (ort_web.ts).
  const backend = session.backend as WebBackend;
  const note = webGpuFallback();
  const outputs = g.outputs.map((o) => outputSummary(o.name, got[o.name]));
  // The run's outputs are the diff's onnxruntime side (unless the graph draws at random): the
  // model is not loaded and run a second time.
  const opts = { rtol: 1e-4, atol: 1e-5, backend: "web" as const, seed, runtimeOutputs: got };
  const r = await diffGraph(g, feeds, opts);
  // In the bundle diffGraph's session is ort_web.ts's too (build.ts), so on the same backend
  // unless WebGPU failed it alone; in Deno it is onnxruntime-node's, and this is the run's.
  const diffBackend = lastBackend() ?? backend;
  const d = r.divergence;
  return {
    outputs,
    backend,
    ...(note ? { note } : {}),
    diff: {
      ok: r.ok,
      backend: diffBackend,
      outputs: r.outputs.map((o) => ({
        name: o.name,
        ok: o.ok,
        maxAbs: o.maxAbs,
        maxRel: o.maxRel,
        ...(o.problem ? { problem: o.problem } : {}),
      })),
      ...(d
        ? {
          divergence: `value '${d.value}' from ${d.node?.op ?? "?"} node '${
            d.node?.name ?? "?"
          }': max abs err ${d.comparison.maxAbs}`,
        }
        : {}),
      text: formatDiff(r, opts),
    },
  };
}

/** Answer one request. Bad input comes back as diagnostics; only an internal error throws. */
export async function handle(r: Request, files: Workspace): Promise<Response> {
  const t0 = performance.now();
  const ms = () => performance.now() - t0;
  try {
    const c = compile(r, files);
    const diagnostics = toWeb(c.diagnostics);
    switch (r.kind) {
      case "check":
        return { id: r.id, kind: "check", diagnostics, ms: ms() };
      case "graph": {
        const g = built(c);
        const svg = g ? graphToSvg(g, { title: g.name }) : undefined;
        const links = g ? graphLinks(g) : undefined;
        return { id: r.id, kind: "graph", diagnostics, svg, links, ms: ms() };
      }
      case "compile": {
        const g = built(c);
        if (!g) return { id: r.id, kind: "compile", diagnostics, ms: ms() };
        const inputs = inputsOf(g);
        const { model } = emitModel(g);
        return {
          id: r.id,
          kind: "compile",
          diagnostics,
          onnx: model,
          name: g.name,
          inputs,
          ms: ms(),
        };
      }
      case "run": {
        const g = built(c);
        if (!g) return { id: r.id, kind: "run", diagnostics, ms: ms() };
        const inputs = inputsOf(g);
        const { outputs, backend, note, diff } = await runAndDiff(g, r.dims, r.seed, r.uploads);
        return {
          id: r.id,
          kind: "run",
          diagnostics,
          inputs,
          outputs,
          backend,
          ...(note ? { note } : {}),
          diff,
          ms: ms(),
        };
      }
    }
  } catch (e) {
    // A run's own diagnostics (a size over the budget, onnxruntime refusing the model).
    if (e instanceof DlmError) {
      return {
        id: r.id,
        kind: "failed",
        diagnostics: toWeb(e.diagnostics),
        error: e.message,
        ms: ms(),
      };
    }
    return {
      id: r.id,
      kind: "failed",
      diagnostics: [],
      error: `internal error: ${(e as Error)?.stack ?? e}`,
      ms: ms(),
    };
  }
}
