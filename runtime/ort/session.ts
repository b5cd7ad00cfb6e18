/**
 * The runtime-independent half of an onnxruntime session: the `Session`
 * interface both backends implement, feed checking, tensor conversion, and
 * turning onnxruntime's exceptions into diagnostics without stack traces.
 */
import { diag, DlmError, fail } from "../../compiler/diagnostics.ts";
import { formatType } from "../../compiler/ir/graph.ts";
import type { Tensor } from "../../compiler/ir/tensor.ts";
import { fromOrt, type OrtTensorCtor, type OrtTensorLike, toOrt } from "./convert.ts";
import type { CacheConfig, Miss } from "./cache.ts";
import type { ModelKind, OptimizeLevel } from "./optimize.ts";

/** A loaded model, ready to run. */
export interface Session {
  /** "node" or "web". */
  backend: string;
  inputNames: string[];
  outputNames: string[];
  /**
   * Run the model. `fetch` selects outputs (default: all). Failures raise
   * DLM0602 with onnxruntime's message. `into`: tensors of some outputs' types for
   * onnxruntime-node to write those outputs into, which the caller no longer reads (the
   * training loop's state of the run before): onnxruntime then allocates no buffer of its
   * own for them (88 MB a run for ResNet-18's parameters and momentum; 5% less CPU per
   * step, ResNet-18 at batch 16, 8 steps a run). The results are still copies: the
   * binding (onnxruntime-node 1.30) copies every output into a fresh JavaScript buffer,
   * given ones included. Ignored by the other backends.
   */
  run(
    feeds: Record<string, Tensor>,
    fetch?: string[],
    into?: Record<string, Tensor>,
  ): Promise<Record<string, Tensor>>;
  /** Free the native session; later runs fail with DLM0602. */
  release(): Promise<void>;
  /** How the session was created (node). */
  load?: LoadInfo;
}

/** How a session was created: the level, the time taken, what the cache did. */
export interface LoadInfo {
  /** Creation time (ms), the cache's work included. */
  ms: number;
  level: OptimizeLevel;
  /** The model's nodes, subgraphs included, when the model was read. */
  nodes?: number;
  /**
   * off: no cache given; skipped: a model the cache does not keep (small, big, external
   * data, level disabled); hit: loaded from the cache; stored: optimised and written to the
   * cache; unwritable: optimised, the cache could not be written.
   */
  cache: "off" | "skipped" | "hit" | "stored" | "unwritable";
  /** Why a cached model was not used, when an entry was looked for and not used. */
  miss?: Miss;
  /** The cache's warning (an unwritable folder), once per process. */
  warning?: string;
}

/** A slow load's status line on stderr (status.ts), and where warnings go. */
export interface LoadReport {
  /** What is loaded: "the training step", "the model". */
  what: string;
  /** stderr is a terminal (default: asked of Deno.stderr). */
  tty?: boolean;
  /** Where a warning line goes (default console.error). */
  warn?: (line: string) => void;
}

/** Options shared by both backends. */
export interface SessionOptions {
  backend?: "node" | "web";
  /** Intra-op threads (node: default 2; web: always 1, see web.ts). */
  threads?: number;
  /**
   * node: let idle worker threads spin, waiting for the next operator
   * (default). A session that runs now and then beside a busy one (training's
   * evaluation) should not: its spinning threads take a core from the other.
   */
  spin?: boolean;
  /** onnxruntime's graph optimisation level (default: optimize.ts's `defaultOptimizeLevel`). */
  optimize?: OptimizeLevel;
  /** What the model is, for the default level: a training step or a forward model (default). */
  kind?: ModelKind;
  /** node: keep optimised graphs in this cache and load them from it (default: no cache). */
  cache?: CacheConfig;
  /** Say on stderr what a slow load is doing (default: silent). */
  report?: LoadReport;
}

/** The part of onnxruntime-common's InferenceSession that a Session wraps. */
export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(
    feeds: Record<string, any>,
    fetches: string[] | Record<string, any>,
  ): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

/**
 * Wrap a created onnxruntime session as a dlm Session. With `ownedOutputs`
 * the runtime's output buffers become the results' data without a copy
 * (onnxruntime-node copies every output into a fresh JS buffer already; a
 * training step's outputs are all the parameters and optimiser state), and
 * with `preallocated` it writes outputs into the tensors a run's `into` gives.
 */
export function wrapSession(
  inner: OrtSessionLike,
  backend: string,
  Ctor: OrtTensorCtor,
  ownedOutputs = false,
  preallocated = false,
): Session {
  const inputNames = [...inner.inputNames];
  const outputNames = [...inner.outputNames];
  let released = false;
  const list = (names: string[]) => names.map((n) => `'${n}'`).join(", ");
  return {
    backend,
    inputNames,
    outputNames,
    async run(feeds, fetch, into) {
      if (released) {
        fail(
          ...diag(
            "DLM0602",
            `onnxruntime (${backend})`,
            "the model",
            "the session was already released",
          ),
        );
      }
      // onnxruntime-node ignores unknown feeds and the two runtimes word missing
      // ones differently: check names here so both report the same way.
      const given = Object.keys(feeds);
      const unknown = given.filter((n) => !inputNames.includes(n));
      if (unknown.length) {
        fail(...diag("DLM0418", list(unknown), list(inputNames)));
      }
      const missing = inputNames.filter((n) => !(n in feeds));
      if (missing.length) {
        fail(...diag("DLM0419", list(missing), list(inputNames)));
      }
      const wanted = fetch ?? outputNames;
      const bad = wanted.filter((n) => !outputNames.includes(n));
      if (bad.length) {
        fail(...diag("DLM0420", list(bad), list(outputNames)));
      }
      const ortFeeds: Record<string, OrtTensorLike> = {};
      for (const n of given) ortFeeds[n] = toOrt(feeds[n], Ctor, n);
      // onnxruntime-common's fetches: a name with a tensor is written into that tensor.
      const targets: Record<string, OrtTensorLike | null> = {};
      let preset = 0;
      for (const n of wanted) {
        const t = preallocated ? into?.[n] : undefined;
        targets[n] = t ? toOrt(t, Ctor, n) : null;
        if (t) preset++;
      }
      let out: Record<string, OrtTensorLike>;
      try {
        out = await inner.run(ortFeeds, preset ? targets : wanted);
      } catch (e) {
        const fed = given.map((n) => `input '${n}' was ${formatType(feeds[n])}`);
        fail(
          ...diag("DLM0602", `onnxruntime (${backend})`, "the model", ortMessage(e)),
          undefined,
          fed,
        );
      }
      const result: Record<string, Tensor> = {};
      for (const n of wanted) result[n] = fromOrt(out[n], n, ownedOutputs);
      return result;
    },
    async release() {
      if (released) return;
      released = true;
      await inner.release();
    },
  };
}

/**
 * onnxruntime's error message without its wrapping: the web runtime's
 * "failed to call OrtRun(). ERROR_CODE: 2, ERROR_MESSAGE: ", the native
 * "[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : ", the advice to "fix either
 * the inputs/outputs or the model", line breaks, and any stack trace.
 */
export function ortMessage(e: unknown): string {
  if (e instanceof DlmError) return e.diagnostics.map((d) => d.message).join("; ");
  let m = e instanceof Error ? e.message : String(e);
  m = m.replace(/\n\s+at .*/gs, "");
  m = m.replace(/^.*?ERROR_CODE: \d+, ERROR_MESSAGE: /s, "");
  m = m.replace(/\[ONNXRuntimeError\] : \d+ : [A-Z_]+ : /g, "");
  m = m.replace(/\s*Please fix either the inputs\/outputs or the model\.?/g, "");
  m = m.replace(/\s*\n\s*/g, " ").trim();
  return m || "unknown error";
}

/** Raise DLM0415 for a model onnxruntime could not load. */
export function failLoad(backend: string, what: string, e: unknown): never {
  if (e instanceof DlmError) throw e;
  fail(...diag("DLM0415", backend, what, ortMessage(e)));
}
