/**
 * The playground's stand-in for `runtime/ort/mod.ts` (web/build.ts substitutes it): the same
 * `createSession`, on onnxruntime-web's WASM backend only, with its runtime files served from the

 * SharedArrayBuffer.
 */
import * as ort from "onnxruntime-web/wasm";
import type { OrtTensorCtor } from "../../runtime/ort/convert.ts";
import {
  failLoad,
  type Session,
  type SessionOptions,
  wrapSession,
} from "../../runtime/ort/session.ts";

export type { Session, SessionOptions } from "../../runtime/ort/session.ts";
export { fromOrt, ortType, toOrt } from "../../runtime/ort/convert.ts";
export { ortMessage } from "../../runtime/ort/session.ts";

let configured = false;

/** Where the worker finds `ort-wasm-simd-threaded.{mjs,wasm}` (default: `ort/` beside it). */
export function configureOrt(base = new URL("./ort/", self.location.href).href): void {
  if (configured) return;
  configured = true;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = base;
}

/** A session on onnxruntime-web from the model's bytes (a path has no meaning in a page). */
export async function createSession(
  model: Uint8Array | string,
  opts: SessionOptions = {},
): Promise<Session> {
  configureOrt();
  if (typeof model === "string") throw new Error("internal: the page loads models from bytes");
  let inner: ort.InferenceSession;
  try {
    inner = await ort.InferenceSession.create(model, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: opts.optimize ?? "all",
    });
  } catch (e) {
    failLoad("web", "the model", e);
  }
  return wrapSession(inner, "web", ort.Tensor as unknown as OrtTensorCtor);
}
