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
export function configureOrt(dir = new URL("./ort/", self.location.href).href): void {
  if (base) return;
  base = dir;
  configure(ort);
}

function configure(m: Ort): void {
  m.env.wasm.numThreads = 1;
  m.env.wasm.proxy = false;
  m.env.wasm.wasmPaths = base;
}

let wantGpu = false;
/** This worker's sessions try WebGPU first (the run worker; training stays on WASM). */
export function preferWebGpu(on = true): void {
  wantGpu = on;
}

/** The WebGPU build once an adapter exists, or why not (one promise per worker). */
let gpu: Promise<{ ort: Ort } | { why: string }> | undefined;

function webgpu(): Promise<{ ort: Ort } | { why: string }> {
  gpu ??= (async () => {
    const nav = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } })
      .navigator;
    if (!nav?.gpu) return { why: "this browser has no WebGPU" };
    let adapter: unknown;
    try {
      adapter = await nav.gpu.requestAdapter();
    } catch (e) {
      return { why: `WebGPU gave no adapter (${ortMessage(e)})` };
    }
    if (!adapter) return { why: "WebGPU gave no adapter" };
    try {
      // Not bundled into this worker: fetched from ort/ only here, once an adapter exists.
      const url = `${base}webgpu.js`;
      const m = await import(url) as Ort;
      configure(m);
      return { ort: m };
    } catch (e) {
      return { why: `onnxruntime-web's WebGPU build did not load (${ortMessage(e)})` };
    }
  })();
  return gpu;
}

let fallbackNote: string | undefined;
/** Why the last session of this worker is not on WebGPU (when it was asked for), or undefined. */
export function webGpuFallback(): string | undefined {
  return fallbackNote;
}

/** A session on onnxruntime-web from the model's bytes (a path has no meaning in a page). */
export async function createSession(
  model: Uint8Array | string,
  opts: SessionOptions = {},
): Promise<Session> {
  configureOrt();
  if (typeof model === "string") throw new Error("internal: the page loads models from bytes");
  const optimize = opts.optimize ?? "all";
  fallbackNote = undefined;
  if (wantGpu) {
    const g = await webgpu();
    if ("ort" in g) {
      try {
        const inner = await g.ort.InferenceSession.create(model, {
          executionProviders: ["webgpu"],
          graphOptimizationLevel: optimize,
        });
        return wrapSession(inner, "webgpu", g.ort.Tensor as unknown as OrtTensorCtor);
      } catch (e) {
        fallbackNote = `WebGPU could not create the session (${ortMessage(e)}); ran on WASM`;
      }
    } else fallbackNote = `${g.why}; ran on WASM`;
  }
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
