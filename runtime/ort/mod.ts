/**
 * Running ONNX models in onnxruntime: `createSession` picks the native
 * runtime (onnxruntime-node, default) or the WebAssembly one
 * (onnxruntime-web). Each backend is imported on first use, so loading this
 * module loads neither runtime.
 */
import type { Session, SessionOptions } from "./session.ts";

export type { Session, SessionOptions } from "./session.ts";
export { fromOrt, ortType, toOrt } from "./convert.ts";
export { ortMessage } from "./session.ts";

/**
 * Load an ONNX model (bytes, or a file path whose external data sits beside
 * it) and return a session. A model that does not load raises DLM0415; a
 * failed run raises DLM0602.
 *
 * @example
 * ```ts
 * const s = await createSession("model.onnx");
 * const { y } = await s.run({ x: tensor("f32", [1, 3], [1, 2, 3]) });
 * await s.release();
 * ```
 */
export async function createSession(
  model: Uint8Array | string,
  opts: SessionOptions = {},
): Promise<Session> {
  const { backend = "node", ...rest } = opts;
  if (backend === "web") {
    const { createWebSession } = await import("./web.ts");
    return await createWebSession(model, rest);
  }
  const { createNodeSession } = await import("./node.ts");
  return await createNodeSession(model, rest);
}
