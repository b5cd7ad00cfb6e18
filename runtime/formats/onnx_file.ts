/**
 * Writing a compiled model to disk: the ONNX emitter's byte ranges
 * streamed to temporary files and renamed into place, so that a failure
 * never leaves a half-written model, and 100 MB of weights are drawn into a
 * small reused buffer and written out instead of being held whole.
 *
 * Unlike the pure encoders beside it, this module writes files: the
 * compiler only produces bytes (compiler/onnx/emit.ts), the runtime layer
 * does the I/O (runtime/fs.ts).
 */
import type { Graph } from "../../compiler/ir/graph.ts";
import { chunksOf, emitModelParts, type EmitOptions } from "../../compiler/onnx/emit.ts";
import { type FileBytes, writeFilesAtomic, writeFilesAtomicAsync } from "../fs.ts";

/** writeModel's options: emit's, with the data file's name fixed, and other files to write. */
export type WriteModelOptions = Omit<EmitOptions, "externalData"> & {
  externalData?: { threshold?: number };
  /** Other files to write in the same all-or-nothing step (e.g. --save-weights). */
  also?: { path: string; bytes: FileBytes }[];
};

/**
 * Emit `graph` and write it to `outPath` atomically. When initializers go
 * external (over `threshold`, default DEFAULT_EXTERNAL_THRESHOLD), they are
 * written to `<outPath>.data`, which the model names by its base name.
 * Returns the paths written.
 *
 * @example
 * ```ts
 * writeModel(graph, "model.onnx", { opset: 17 }); // { model: "model.onnx" }
 * ```
 */
export function writeModel(
  graph: Graph,
  outPath: string,
  opts: WriteModelOptions = {},
): { model: string; data?: string } {
  const { files, written } = modelFiles(graph, outPath, opts);
  writeFilesAtomic(files);
  return written;
}

/**
 * writeModel, writing the file while its weights are drawn (writeFilesAtomicAsync):
 * what `dlm compile` uses. The same files, byte for byte.
 */
export async function writeModelAsync(
  graph: Graph,
  outPath: string,
  opts: WriteModelOptions = {},
): Promise<{ model: string; data?: string }> {
  const { files, written } = modelFiles(graph, outPath, opts);
  await writeFilesAtomicAsync(files);
  return written;
}

function modelFiles(graph: Graph, outPath: string, opts: WriteModelOptions) {
  const dataPath = `${outPath}.data`;
  const location = dataPath.slice(dataPath.lastIndexOf("/") + 1);
  const { parts, data } = emitModelParts(graph, {
    ...opts,
    externalData: { location, threshold: opts.externalData?.threshold },
  });
  // Data first: a model that names a missing data file is worse than a stale data file.
  // All files are written to temporaries before any is renamed into place.
  const files = [
    ...(opts.also ?? []),
    ...(data ? [{ path: dataPath, bytes: chunksOf(data) }] : []),
    { path: outPath, bytes: chunksOf(parts) },
  ];
  return { files, written: data ? { model: outPath, data: dataPath } : { model: outPath } };
}
