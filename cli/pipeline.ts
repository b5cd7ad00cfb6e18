/**
 * The shared front half of every command: a .dlm file compiled (or an .onnx
 * file decoded), weights loaded, graph passes run.
 */
import { buildGraphWith, type BuildOptions, type Built } from "./build.ts";
import { ONNX_INPUT } from "./onnx_input.ts";

export {
  ADAPTER_MODES,
  type AdapterMode,
  adapterWeights,
  applyAdapterMode,
  type BuildOptions,
  buildOptionsOf,
  buildWithInputs,
  type Built,
  isOnnxPath,
  opsetOf,
} from "./build.ts";

/** A .dlm file compiled or an .onnx file decoded, weights loaded, passes run (see build.ts). */
export function buildGraph(path: string, o: BuildOptions = {}): Built {
  return buildGraphWith(path, o, ONNX_INPUT);
}
