/**
 * Sessions on onnxruntime-node (the native CPU runtime). A model given by
 * path is loaded by onnxruntime itself, so external data files beside it
 * are found.
 */
import * as ort from "onnxruntime-node";
import { diag, fail } from "../../compiler/diagnostics.ts";
import { describeFsError } from "../fs.ts";
import type { OrtTensorCtor } from "./convert.ts";
import { tuneAllocator } from "./allocator.ts";
import { failLoad, type Session, type SessionOptions, wrapSession } from "./session.ts";

/**
 * ort.Tensor, except that float16 data stays the Uint16Array it was given.
 * onnxruntime-common wraps it in a Float16Array view where the platform has
 * one (Deno does), and the native binding (N-API) cannot read Float16Array:
 * it sees 0 bytes ("not enough space: expected 4, got 0").
 */
class NodeTensor extends (ort.Tensor as unknown as OrtTensorCtor) {
  constructor(type: any, data: any, dims?: readonly number[]) {
    super(type, data, dims);
    if (type === "float16" && data instanceof Uint16Array) {
      (this as unknown as { cpuData: Uint16Array }).cpuData = data;
    }
  }
}

/** Threads per operator when not given: small models gain nothing from more, tests run in parallel. */
export const DEFAULT_THREADS = 2;

/**
 * Load a model (bytes or a file path) in onnxruntime-node. A missing file
 * raises DLM0401, a model onnxruntime rejects DLM0405.
 */
export async function createNodeSession(
  model: Uint8Array | string,
  opts: Omit<SessionOptions, "backend"> = {},
): Promise<Session> {
  const what = typeof model === "string" ? `'${model}'` : "the model";
  if (typeof model === "string") {
    try {
      Deno.statSync(model);
    } catch (e) {
      fail(...diag("DLM0401", `model '${model}'`, describeFsError(e)));
    }
  }
  // Large outputs (a training step's whole state) reuse heap pages instead of fresh ones.
  tuneAllocator();
  const options = {
    intraOpNumThreads: opts.threads ?? DEFAULT_THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all" as const,
    // Errors reach the user once, as a diagnostic; onnxruntime's own log line would repeat them.
    logSeverityLevel: 4 as const,
    ...(opts.spin === false ? { extra: { session: { intra_op: { allow_spinning: "0" } } } } : {}),
  };
  let inner: ort.InferenceSession;
  try {
    inner = typeof model === "string"
      ? await ort.InferenceSession.create(model, options)
      : await ort.InferenceSession.create(model, options);
  } catch (e) {
    failLoad("node", what, e);
  }
  // onnxruntime-node's outputs are fresh JS buffers nothing else refers to: no second copy.
  return wrapSession(inner, "node", NodeTensor, true);
}
