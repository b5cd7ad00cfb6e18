/**
 * onnxruntime-node sessions at a chosen graph optimisation level, for the benchmarks that
 * measure each level (dlm's own sessions use runtime/ort's choice). Same threads and allocator
 * tuning as runtime/ort/node.ts, so only the level differs.
 */
import * as ort from "onnxruntime-node";
import type { OrtTensorCtor } from "../runtime/ort/convert.ts";
import { tuneAllocator } from "../runtime/ort/allocator.ts";
import { DEFAULT_THREADS } from "../runtime/ort/node.ts";
import { type Session, wrapSession } from "../runtime/ort/session.ts";

import type { Level } from "./levels.ts";
export { isLevel, type Level, LEVELS } from "./levels.ts";

/** Load ONNX bytes in onnxruntime-node at `level`. */
export async function sessionAtLevel(
  bytes: Uint8Array,
  level: Level,
  threads = DEFAULT_THREADS,
): Promise<Session> {
  tuneAllocator();
  const inner = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: level,
    logSeverityLevel: 4,
  });
  return wrapSession(inner, "node", ort.Tensor as unknown as OrtTensorCtor, true);
}
