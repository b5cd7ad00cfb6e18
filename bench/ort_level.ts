/**
 * onnxruntime-node sessions at a chosen graph optimisation level, for the benchmarks that
 * measure each level: runtime/ort's own sessions with the level given and no cache, so only the
 * level differs from what dlm runs.
 */
import { createNodeSession, DEFAULT_THREADS } from "../runtime/ort/node.ts";
import type { OptimizeLevel } from "../runtime/ort/optimize.ts";
import type { Session } from "../runtime/ort/session.ts";

export {
  isOptimizeLevel as isLevel,
  OPTIMIZE_LEVELS as LEVELS,
  type OptimizeLevel as Level,
} from "../runtime/ort/optimize.ts";

/** Load ONNX bytes in onnxruntime-node at `level`. */
export function sessionAtLevel(
  bytes: Uint8Array,
  level: OptimizeLevel,
  threads = DEFAULT_THREADS,
): Promise<Session> {
  return createNodeSession(bytes, { optimize: level, threads });
}
