/**
 * What `bench` and `bench:seq` share: the compile-time measurement (parse
 * alone, parse + check + elaborate, and the whole path to ONNX bytes with its
 * phases), onnxruntime-node latencies of several models run interleaved, and
 * small file helpers.
 */
import { compileFile, type CompileResult } from "../compiler/compile.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import type { Graph } from "../compiler/ir/graph.ts";
import { numel, type Tensor } from "../compiler/ir/tensor.ts";
import { emitModelParts } from "../compiler/onnx/emit.ts";
import { type Pass, runPasses } from "../compiler/passes/mod.ts";
import { parse } from "../compiler/syntax/mod.ts";
import { createSession } from "../runtime/ort/mod.ts";
import { summarize, timeSync, type Timing } from "./stats.ts";
import { bytes, count, formatTable, ms } from "./table.ts";

export interface CompileBench {
  file: string;
  model: string;
  parameters: number;
  nodes: number;
  onnxBytes: number;
  /** `parse()` of the main file alone. */
  parse: Timing;
  /**
   * Parse, check and elaborate: `compileFile`. Parameters are initialised
   * lazily (compiler/ir/init.ts `lazyInitTensor`), so this excludes
   * drawing the initial weights.
   */
  check: Timing;
  /** The whole path to ONNX bytes, and its four phases within the same runs. */
  compile: Timing;
  phases: { elaborate: Timing; init: Timing; passes: Timing; emit: Timing };
}

export function pathOf(url: URL): string {
  return decodeURIComponent(url.pathname);
}

export function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

export function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(path));
  } catch {
    return undefined;
  }
}

/** A full collection when run with --v8-flags=--expose-gc; otherwise nothing. */
export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Compile or stop the bench with the diagnostics. */
export function compiled(path: string, model?: string): Graph {
  const r: CompileResult = compileFile(path, { model, mode: "eval" });
  if (!r.graph) {
    const text = r.diagnostics.map((d) => formatDiagnostic(d, r.sources)).join("\n");
    throw new Error(`Cannot compile ${path}${model ? ` (model ${model})` : ""}:\n${text}`);
  }
  return r.graph;
}

/** Trainable parameter elements as declared (before passes fold or rename initializers). */
export function parameterCount(g: Graph): number {
  let n = 0;
  for (const p of g.params) if (p.trainable) n += numel(g.initializers.get(p.name)?.shape ?? []);
  return n;
}

/** Time compiling one model of `path` with `pipeline`: median of `runs` after a warm-up. */
export function benchCompile(
  path: string,
  file: string,
  model: string,
  runs: number,
  pipeline: Pass[],
): CompileBench {
  const text = Deno.readTextFileSync(path);
  const parseT = timeSync(() => parse(text, path), { warmup: 2, runs: Math.max(runs, 10) });
  const checkT = timeSync(() => compiled(path, model), { warmup: 1, runs });
  const parameters = parameterCount(compiled(path, model));
  const total: number[] = [], elab: number[] = [], init: number[] = [], passes: number[] = [];
  const emit: number[] = [];
  let last: { graph: Graph; bytes: number } | undefined;
  for (let i = 0; i <= runs; i++) {
    // Each run starts from a collected heap, as a fresh `dlm compile` process does;
    // otherwise the previous run's 100 MB of weights are collected inside this one.
    gc();
    const t0 = performance.now();
    const g = compiled(path, model);
    const t1 = performance.now();
    // Reading `data` draws a lazily initialised parameter; passes and emit would do it anyway.
    for (const t of g.initializers.values()) void t.data;
    const t2 = performance.now();
    runPasses(g, pipeline, { mode: "eval" });
    const t3 = performance.now();
    // The model as the byte ranges a writer streams to the file (dlm compile does this).
    const { parts } = emitModelParts(g);
    const t4 = performance.now();
    if (i === 0) continue; // warm-up
    total.push(t4 - t0);
    elab.push(t1 - t0);
    init.push(t2 - t1);
    passes.push(t3 - t2);
    emit.push(t4 - t3);
    last = { graph: g, bytes: parts.reduce((n, p) => n + p.length, 0) };
  }
  return {
    file,
    model,
    parameters,
    nodes: last!.graph.nodes.length,
    onnxBytes: last!.bytes,
    parse: parseT,
    check: checkT,
    compile: summarize(total),
    phases: {
      elaborate: summarize(elab),
      init: summarize(init),
      passes: summarize(passes),
      emit: summarize(emit),
    },
  };
}

/** The compile-time table both benches print. */
export function formatCompileTable(rows: CompileBench[]): string {
  return formatTable(
    [
      { header: "example" },
      { header: "model" },
      { header: "params", right: true },
      { header: "nodes", right: true },
      { header: "onnx", right: true },
      { header: "parse", right: true },
      { header: "check", right: true },
      { header: "compile", right: true },
      { header: "=elab", right: true },
      { header: "+init", right: true },
      { header: "+passes", right: true },
      { header: "+emit", right: true },
    ],
    rows.map((c) => [
      c.file,
      c.model,
      count(c.parameters),
      count(c.nodes),
      bytes(c.onnxBytes),
      ms(c.parse.median),
      ms(c.check.median),
      ms(c.compile.median),
      ms(c.phases.elaborate.median),
      ms(c.phases.init.median),
      ms(c.phases.passes.median),
      ms(c.phases.emit.median),
    ]),
  );
}

/** Intra-op threads of every onnxruntime session in the benchmarks (a fixed setting). */
export const ORT_THREADS = 2;
export const ORT_WARMUP = 3;

/** A model to time: ONNX bytes or a path, and the input it feeds (default: its first). */
export interface OrtModel {
  model: Uint8Array | string;
  feed?: string;
}

export interface OrtLatency {
  sessionCreateMs: number;
  latency: Timing;
  /** The first output of the first warm-up run, to check that models agree. */
  firstOutput: Tensor;
}

/**
 * onnxruntime-node latency of each model on the same input: sessions made
 * first, ORT_WARMUP warm-ups each, then `runs` rounds that run every model
 * once, so that drift in machine load hits all of them alike.
 */
export async function ortLatencies(
  models: OrtModel[],
  input: Tensor,
  runs: number,
): Promise<OrtLatency[]> {
  const sessions = [];
  const created: number[] = [];
  try {
    for (const m of models) {
      const t0 = performance.now();
      sessions.push(await createSession(m.model, { threads: ORT_THREADS }));
      created.push(performance.now() - t0);
    }
    const feeds = sessions.map((s, i) => ({ [models[i].feed ?? s.inputNames[0]]: input }));
    const first: Tensor[] = [];
    for (const [i, s] of sessions.entries()) {
      for (let w = 0; w < ORT_WARMUP; w++) {
        const out = await s.run(feeds[i]);
        if (w === 0) first.push(out[s.outputNames[0]]);
      }
    }
    const times: number[][] = sessions.map(() => []);
    for (let r = 0; r < runs; r++) {
      for (const [i, s] of sessions.entries()) {
        const t0 = performance.now();
        await s.run(feeds[i]);
        times[i].push(performance.now() - t0);
      }
    }
    return times.map((t, i) => ({
      sessionCreateMs: created[i],
      latency: summarize(t),
      firstOutput: first[i],
    }));
  } finally {
    for (const s of sessions) await s.release();
  }
}
