/**
 * One forward run of a built graph on onnxruntime (node or web) or the
 * reference interpreter: what `dlm sample` and `dlm probe` share.
 */
import type { Graph } from "../compiler/ir/graph.ts";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { createSession } from "../runtime/ort/mod.ts";
import type { Io } from "./command.ts";

/** The graph's outputs on `feeds`; an onnxruntime session lives for this call only. */
export async function runForward(
  graph: Graph,
  feeds: Record<string, Tensor>,
  backend: "node" | "web" | "reference",
  io: Io,
): Promise<Record<string, Tensor>> {
  if (backend === "reference") return runGraph(graph, feeds).outputs;
  const session = await createSession(emitModel(graph).model, {
    backend,
    kind: "forward",
    report: { what: "the model", warn: io.err },
  });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}
