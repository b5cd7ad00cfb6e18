/**
 * The fuzzer's worker (tools/fuzz.ts): compiles one mutated program at a time, in-process, as
 * `dlm compile` and `dlm compile --train` would (parse, check, build the graph, run the
 * inference passes, serialise the ONNX graph; for a file with a train section, also the training
 * step), and says how it ended. The fuzzer runs it as a process of its own, so that it can stop
 * one that hangs or runs out of memory.
 */
import { compileFile, hasErrors } from "../compiler/compile.ts";
import { readFromDisk } from "../compiler/check/program.ts";
import { type Diagnostic, DlmError } from "../compiler/diagnostics.ts";
import { pipelineFor, runPasses } from "../compiler/passes/mod.ts";
import { emitModelParts } from "../compiler/onnx/emit.ts";
import { compileTrain } from "../compiler/train/mod.ts";
import { numel } from "../compiler/ir/tensor.ts";
import { main } from "../cli/main.ts";

/** A request: compile `text` as the file `path` (its imports are read from disk). */
export interface FuzzJob {
  id: number;
  path: string;
  text: string;
  /** Also compile the file's first train section. */
  train: boolean;
  /**
   * Run the inference passes on a graph whose initializers have at most this many elements:
   * folding constants draws and transposes the weights, which is most of the time of a mid-size
   * model (1.2 s of GPT-2's 1.3).
   */
  passesUpTo: number;
}

/**
 * A data job (tools/fuzz_data.ts): run the command line `argv` in-process, which reads the
 * mutated data file `file`.
 */
export interface DataJob {
  id: number;
  kind: "data";
  argv: string[];
  file: string;
}

/** How a compile ended: "ok" and "rejected" are fine, the others are failures. */
export type Outcome = "ok" | "rejected" | "internal" | "exception" | "unlocated";

export interface FuzzResult {
  id: number;
  outcome: Outcome;
  /** For a failure: the message, the diagnostic or the stack. */
  detail?: string;
  /** The codes of the errors reported, for the statistics. */
  codes: string[];
  ms: number;
}

/** Judge the diagnostics of one stage: any error at all means the input was rejected. */
function judge(ds: Diagnostic[], codes: string[]): Outcome | { fail: Outcome; detail: string } {
  for (const d of ds) {
    if (d.severity !== "error") continue;
    codes.push(d.code);
    if (d.code === "DLM0900" || /internal error/i.test(d.message)) {
      return { fail: "internal", detail: `${d.code}: ${d.message}` };
    }
    if (!d.span) return { fail: "unlocated", detail: `${d.code}: ${d.message}` };
  }
  return hasErrors(ds) ? "rejected" : "ok";
}

/** Compile one job; never throws. */
export function runJob(job: FuzzJob): FuzzResult {
  const t0 = performance.now();
  const codes: string[] = [];
  const done = (outcome: Outcome, detail?: string): FuzzResult => ({
    id: job.id,
    outcome,
    detail,
    codes,
    ms: performance.now() - t0,
  });
  const read = (p: string) => (p === job.path ? job.text : readFromDisk(p));
  try {
    const r = compileFile(job.path, { read });
    const j = judge(r.diagnostics, codes);
    if (typeof j !== "string") return done(j.fail, j.detail);
    if (j === "rejected" || !r.graph) return done("rejected");
    // The stages after checking report bad input as a DlmError.
    try {
      let weights = 0;
      for (const t of r.graph.initializers.values()) weights += numel(t.shape);
      if (weights <= job.passesUpTo) {
        runPasses(r.graph, pipelineFor("onnx", "eval"), { mode: "eval" });
      }
      // The graph's bytes as `dlm compile` writes them (weights past 2 GB as external data;
      // a weight is drawn only as a writer reads its bytes: not here).
      const emit = { externalData: { location: "fuzz.onnx.data" } };
      emitModelParts(r.graph, emit);
      if (job.train && r.program?.main.decls.some((d) => d.kind === "train")) {
        const t = compileTrain(job.path, { read });
        const jt = judge(t.diagnostics, codes);
        if (typeof jt !== "string") return done(jt.fail, jt.detail);
        if (t.step) emitModelParts(t.step, emit);
        if (jt === "rejected") return done("rejected");
      }
    } catch (e) {
      if (!(e instanceof DlmError)) throw e;
      const jd = judge(e.diagnostics, codes);
      return typeof jd === "string" ? done("rejected") : done(jd.fail, jd.detail);
    }
    return done("ok");
  } catch (e) {
    const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
    return done("exception", detail.split("\n").slice(0, 8).join("\n"));
  }
}

/**
 * Run one data job through the command line, as a user would; never throws. Besides the
 * compile's failures, a rejection must name the file it rejects (else "unlocated": a message
 * about data that does not say which file), and nothing may look like a stack trace.
 */
export async function runDataJob(job: DataJob): Promise<FuzzResult> {
  const t0 = performance.now();
  const codes: string[] = [];
  const done = (outcome: Outcome, detail?: string): FuzzResult => ({
    id: job.id,
    outcome,
    detail,
    codes,
    ms: performance.now() - t0,
  });
  const lines: string[] = [];
  let code: number;
  try {
    code = await main(job.argv, { out: () => {}, err: (s) => lines.push(s) });
  } catch (e) {
    const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
    return done("exception", detail.split("\n").slice(0, 8).join("\n"));
  }
  const text = lines.join("\n");
  for (const m of text.matchAll(/error (DLM\d{4})/g)) codes.push(m[1]);
  const short = () => text.split("\n").slice(0, 12).join("\n");
  if (/internal error|DLM0900/.test(text)) return done("internal", short());
  if (
    /^\s+at .+:\d+:\d+\)?$/m.test(text) || /\b(TypeError|RangeError|ReferenceError):/.test(text)
  ) {
    return done("exception", short());
  }
  if (code === 0) return done("ok");
  const base = job.file.slice(job.file.lastIndexOf("/") + 1);
  if (codes.length === 0 || !text.includes(base)) return done("unlocated", short());
  return done("rejected");
}

// As a process: a job per line of stdin (JSON), a result per line of stdout. A process, not a
// Worker, so that a job that exhausts its memory takes down only this process.
if (import.meta.main) {
  const enc = new TextEncoder();
  let pending = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line) continue;
      const job = JSON.parse(line) as FuzzJob | DataJob;
      const result = "kind" in job ? await runDataJob(job) : runJob(job);
      await Deno.stdout.write(enc.encode(JSON.stringify(result) + "\n"));
    }
  }
}
