/**
 * Sessions on onnxruntime-web's WebAssembly backend, inside Deno.
 *
 * Deno resolves `onnxruntime-web` with the "node" export condition, i.e.
 * dist/ort.node.min.mjs, which imports ort-wasm-simd-threaded.mjs and reads
 * the .wasm beside it through node:fs. `wasmPaths` is set to that dist folder
 * (a file: URL) anyway, so the files always come from node_modules and never
 * from a CDN. One thread and no proxy worker: Deno gives the WASM runtime no
 * cross-origin-isolated SharedArrayBuffer setup to rely on, and the web
 * backend is here as a second opinion, not for speed.
 */
import * as ort from "onnxruntime-web";
import { diag, fail } from "../../compiler/diagnostics.ts";
import { onnx } from "../../compiler/onnx/proto.ts";
import { readFileOrFail } from "../fs.ts";
import type { OrtTensorCtor } from "./convert.ts";
import { failLoad, type Session, type SessionOptions, wrapSession } from "./session.ts";

let configured = false;

function configure(): void {
  if (configured) return;
  configured = true;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = new URL("./", import.meta.resolve("onnxruntime-web")).href;
}

/**
 * Load a model (bytes or a file path) in onnxruntime-web (WASM). For a path,
 * the external data files its initializers name are read from beside it.
 * A missing file raises DLM0401, a model onnxruntime rejects DLM0415.
 * `threads` is ignored: the WASM backend runs single-threaded here; so is
 * the cache (onnxruntime-web cannot write an optimised model to a file).
 */
export async function createWebSession(
  model: Uint8Array | string,
  opts: Omit<SessionOptions, "backend"> = {},
): Promise<Session> {
  configure();
  const what = typeof model === "string" ? `'${model}'` : "the model";
  const bytes = typeof model === "string" ? readFileOrFail(model, "model") : model;
  const externalData = typeof model === "string" ? readExternalData(bytes, model) : undefined;
  let inner: ort.InferenceSession;
  try {
    inner = await ort.InferenceSession.create(bytes, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: opts.optimize ?? "all",
      ...(externalData?.length ? { externalData } : {}),
    });
  } catch (e) {
    failLoad("web", what, e);
  }
  return wrapSession(inner, "web", ort.Tensor as unknown as OrtTensorCtor);
}

/** The external data files named by the model's initializers, read from the model's folder. */
function readExternalData(bytes: Uint8Array, path: string): { path: string; data: Uint8Array }[] {
  let model: any;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch {
    return []; // not a valid model: onnxruntime reports it with its own words
  }
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
  const locations = new Set<string>();
  for (const t of model.graph?.initializer ?? []) {
    for (const kv of t.externalData ?? []) if (kv.key === "location") locations.add(kv.value);
  }
  return [...locations].map((loc) => {
    if (loc.includes("..") || loc.startsWith("/")) {
      fail(
        ...diag(
          "DLM0405",
          `ONNX model '${path}'`,
          `its external data '${loc}' lies outside its folder`,
        ),
      );
    }
    return { path: loc, data: readFileOrFail(dir + loc, "external data") };
  });
}
