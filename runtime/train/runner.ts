/**
 * One interface over the three places a model can run: onnxruntime-node,
 * onnxruntime-web, and the reference interpreter.
 */
import type { Tensor } from "../../compiler/ir/tensor.ts";
import { createSession, type SessionOptions } from "../ort/mod.ts";
import type { LoadedModel } from "./loaded.ts";

/** Where a model runs. */
export type Backend = "node" | "web" | "reference";

/** A model that can be run repeatedly. */
export interface Runner {
  /**
   * Run once; `into` gives tensors that some outputs may be written into (onnxruntime-node;
   * see Session.run), which the caller must no longer read otherwise.
   */
  run(
    feeds: Record<string, Tensor>,
    into?: Record<string, Tensor>,
  ): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

/** How onnxruntime sessions are made: level, cache, status line (runtime/ort). */
export type SessionSettings = Pick<
  SessionOptions,
  "optimize" | "cache" | "report" | "kind" | "spin"
>;

/**
 * Open a runner for a loaded model on a backend. `spin: false` for a model
 * that runs now and then beside another (see SessionOptions.spin).
 */
export async function openRunner(
  m: LoadedModel,
  backend: Backend,
  opts: SessionSettings = {},
): Promise<Runner> {
  if (backend === "reference") {
    // The interpreter's kernels are loaded only when it runs (about 60 ms of modules otherwise).
    const { runGraph } = await import("../reference/mod.ts");
    return {
      run: (feeds) => Promise.resolve(runGraph(m.graph, feeds, { opset: m.opset }).outputs),
      release: () => Promise.resolve(),
    };
  }
  const s = await createSession(m.bytes, { backend, ...opts });
  return { run: (feeds, into) => s.run(feeds, undefined, into), release: () => s.release() };
}
