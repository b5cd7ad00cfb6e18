/**
 * A graph's weights written as safetensors (`--save-weights`). Apart from
 * weights.ts, which reads weights files of either format and so loads the
 * ONNX decoder: `dlm compile` writes weights but reads none unless asked.
 */
import type { Graph } from "../compiler/ir/graph.ts";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { safetensorsChunks } from "./formats/safetensors.ts";
import { writeFilesAtomic } from "./fs.ts";

/**
 * The graph's parameters and buffers, in definition order, as safetensors
 * byte ranges for a file writer (writeFilesAtomic): weights not drawn yet are
 * drawn as they are written and not kept.
 */
export function weightsChunks(graph: Graph): Iterable<Uint8Array> {
  return safetensorsChunks(weightEntries(graph), WEIGHTS_METADATA);
}

/** Write the graph's parameters and buffers, in definition order, as safetensors. */
export function saveWeights(graph: Graph, path: string): void {
  writeFilesAtomic([{ path, bytes: weightsChunks(graph) }]);
}

const WEIGHTS_METADATA = { producer: "dlm", format: "pt" };

function weightEntries(graph: Graph): [string, Tensor][] {
  const entries: [string, Tensor][] = [];
  for (const p of graph.params) {
    const t = graph.initializers.get(p.name);
    if (t) entries.push([p.name, t]);
  }
  return entries;
}
