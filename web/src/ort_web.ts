/**
 * The playground's stand-in for `runtime/ort/mod.ts` (web/build.ts substitutes it): the same
 * `createSession`, on onnxruntime-web, with its runtime files served from the page's own `ort/`
 * folder (no CDN), one thread (a static server sends no cross-origin isolation headers, so there is
 * no SharedArrayBuffer).
 *
 * Two builds of onnxruntime-web, one per backend:
 * - WASM (`onnxruntime-web/wasm`, bundled here): every session of the training worker, and the
 *   run's whenever WebGPU is not used.
 * - WebGPU (`onnxruntime-web/webgpu`, built by web/build.ts into `ort/webgpu.js`, with its
 *   runtime `ort-wasm-simd-threaded.asyncify.{mjs,wasm}`): only in a worker that asked for it
 *   (`preferWebGpu`, the run worker), and imported only once `navigator.gpu.requestAdapter()` has
 *   given an adapter, so a browser without one downloads nothing more than the WASM build. A
 *   session that WebGPU cannot create falls back to WASM, with a note saying why.
 *
 * A session's `backend` says which ran: "webgpu" or "wasm".
 */
import * as ort from "onnxruntime-web/wasm";
import { DlmError } from "../../compiler/diagnostics.ts";
import type { OrtTensorCtor } from "../../runtime/ort/convert.ts";
import {
  failLoad,
  ortMessage,
  type Session,
  type SessionOptions,
  wrapSession,
} from "../../runtime/ort/session.ts";

export type { Session, SessionOptions } from "../../runtime/ort/session.ts";
export { fromOrt, ortType, toOrt } from "../../runtime/ort/convert.ts";
export { ortMessage } from "../../runtime/ort/session.ts";

/** The backend a page session runs on. */
export type WebBackend = "webgpu" | "wasm";

type Ort = typeof ort;

let base: string | undefined;

/** Where the worker finds onnxruntime-web's runtime files (default: `ort/` beside it). */
export function configureOrt(dir?: string): void {
  if (base) return;
  base = dir ?? new URL("./ort/", self.location.href).href;
  configure(ort);
}

function configure(m: Ort): void {
  m.env.wasm.numThreads = 1;
  m.env.wasm.proxy = false;
  m.env.wasm.wasmPaths = base;
}

/**
 * Finds onnxruntime-web's WebGPU build: the module, or why there is none. The page's is
 * `browserWebGpu`; tests pass their own.
 */
export type WebGpuLoader = () => Promise<Ort | string>;

let wantGpu = false;
let loader: WebGpuLoader = browserWebGpu;
/** The WebGPU build once found, or why not (one promise per worker). */
let gpu: Promise<Ort | string> | undefined;

/** This worker's sessions try WebGPU first (the run worker; training stays on WASM). */
export function preferWebGpu(on = true, load: WebGpuLoader = browserWebGpu): void {
  wantGpu = on;
  loader = load;
  gpu = undefined;
}

/** The browser's adapter, then `ort/webgpu.js`, imported only once there is an adapter. */
export async function browserWebGpu(): Promise<Ort | string> {
  const nav = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } })
    .navigator;
  if (!nav?.gpu) return "this browser has no WebGPU";
  let adapter: unknown;
  try {
    adapter = await nav.gpu.requestAdapter();
  } catch (e) {
    return `WebGPU gave no adapter (${brief(e)})`;
  }
  if (!adapter) return "WebGPU gave no adapter";
  try {
    // Not bundled into this worker: fetched from ort/ only here.
    const m = await import(`${base}webgpu.js`) as Ort;
    configure(m);
    return m;
  } catch (e) {
    return `onnxruntime-web's WebGPU build did not load (${brief(e)})`;
  }
}

/** The first line of an error's message, for a one-line note. */
function brief(e: unknown): string {
  return ortMessage(e).split("\n")[0];
}

let fallbackNote: string | undefined;
/**
 * Why this worker's last session is not on WebGPU when it was asked for (no adapter, a session
 * WebGPU could not create or run), or undefined.
 */
export function webGpuFallback(): string | undefined {
  return fallbackNote;
}

/**
 * A session on onnxruntime-web from the model's bytes (a path has no meaning in a page): on
 * WebGPU when this worker prefers it and the build loads, else (or when WebGPU cannot create the
 * session, or its first run fails) on WASM. `backend` says where it runs, and stays true after a
 * fallback at run time.
 */
export async function createSession(
  model: Uint8Array | string,
  opts: SessionOptions = {},
): Promise<Session> {
  last = await open(model, opts);
  return last;
}

let last: Session | undefined;
/** Where this worker's last session runs (after its runs: a failed first run moves it). */
export function lastBackend(): WebBackend | undefined {
  return last?.backend as WebBackend | undefined;
}

async function open(model: Uint8Array | string, opts: SessionOptions): Promise<Session> {
  configureOrt();
  if (typeof model === "string") throw new Error("internal: the page loads models from bytes");
  const optimize = opts.optimize ?? "all";
  fallbackNote = undefined;
  if (wantGpu) {
    gpu ??= loader();
    const g = await gpu;
    if (typeof g !== "string") {
      let inner: ort.InferenceSession | undefined;
      try {
        inner = await g.InferenceSession.create(model, {
          executionProviders: ["webgpu"],
          graphOptimizationLevel: optimize,
        });
      } catch (e) {
        fallbackNote = `WebGPU could not create the session (${brief(e)}); ran on WASM`;
      }
      if (inner) {
        const s = wrapSession(inner, "webgpu", g.Tensor as unknown as OrtTensorCtor);
        return withRunFallback(s, () => wasmSession(model, optimize));
      }
    } else fallbackNote = `${g}; ran on WASM`;
  }
  return await wasmSession(model, optimize);
}

async function wasmSession(
  model: Uint8Array,
  optimize: NonNullable<SessionOptions["optimize"]>,
): Promise<Session> {
  let inner: ort.InferenceSession;
  try {
    inner = await ort.InferenceSession.create(model, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: optimize,
    });
  } catch (e) {
    failLoad("wasm", "the model", e);
  }
  return wrapSession(inner, "wasm", ort.Tensor as unknown as OrtTensorCtor);
}

/**
 * A WebGPU session whose failed run is retried on a WASM session of the same model, which then
 * takes every later run: a kernel WebGPU has but cannot run here (a limit of the adapter, lost
 * device) costs a note, not the run. Only the first run falls back, and only from onnxruntime's own
 * failure: wrong feeds, or a session that has run once and then fails, are reported as they are.
 */
function withRunFallback(gpuSession: Session, openWasm: () => Promise<Session>): Session {
  let wasm: Session | undefined;
  let ran = false;
  const s: Session = {
    backend: "webgpu",
    inputNames: gpuSession.inputNames,
    outputNames: gpuSession.outputNames,
    async run(feeds, fetch) {
      if (wasm) return await wasm.run(feeds, fetch);
      try {
        const out = await gpuSession.run(feeds, fetch);
        ran = true;
        return out;
      } catch (e) {
        // Wrong feeds are the caller's mistake, reported as they are; only onnxruntime's own
        // failure (DLM0602) moves the session.
        const own = e instanceof DlmError && e.diagnostics[0]?.code === "DLM0602";
        if (ran || !own) throw e;
        wasm = await openWasm();
        await gpuSession.release().catch(() => {});
        s.backend = "wasm";
        fallbackNote = `WebGPU could not run the model (${brief(e)}); ran on WASM`;
        return await wasm.run(feeds, fetch);
      }
    },
    async release() {
      if (wasm) await wasm.release();
      else await gpuSession.release();
    },
  };
  return s;
}
