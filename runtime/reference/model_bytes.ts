/**
 * ONNX model bytes run by the reference interpreter: the decoder (and with it
 * onnx-proto) is loaded only by what runs a file, not by constant folding,
 * which imports the interpreter alone (interpreter.ts).
 */
import type { Tensor } from "../../compiler/ir/tensor.ts";
import { decodeModel } from "../../compiler/onnx/decode.ts";
import { runGraph, type RunOptions, type RunResult } from "./interpreter.ts";

/**
 * Decode ONNX model bytes and run them at the model's own opset.
 * Feeds are by graph input name.
 */
export function runModelBytes(
  bytes: Uint8Array,
  feeds: Record<string, Tensor>,
  opts: Omit<RunOptions, "opset"> & { baseDir?: string; file?: string } = {},
): RunResult {
  const { graph, opset } = decodeModel(bytes, { baseDir: opts.baseDir, file: opts.file });
  return runGraph(graph, feeds, { ...opts, opset });
}
