/**
 * The shared front half of every command: a .dlm file compiled (or an .onnx
 * file decoded), weights loaded, graph passes run.
 */
import type { Tensor } from "../compiler/ir/tensor.ts";
import { prepareInputs } from "../runtime/inputs.ts";
import { dimsOf, type Parsed } from "./args.ts";
import type { Io } from "./command.ts";
import { memoryBudget } from "../runtime/memory.ts";
import { warn } from "./report.ts";
import { buildGraphWith, type BuildOptions, type Built } from "./build.ts";
import { ONNX_INPUT } from "./onnx_input.ts";

export {
  ADAPTER_MODES,
  type AdapterMode,
  adapterWeights,
  applyAdapterMode,
  type BuildOptions,
  buildOptionsOf,
  type Built,
  isOnnxPath,
  opsetOf,
} from "./build.ts";

/** A .dlm file compiled or an .onnx file decoded, weights loaded, passes run (see build.ts). */
export function buildGraph(path: string, o: BuildOptions = {}): Built {
  return buildGraphWith(path, o, ONNX_INPUT);
}

/**
 * What `run` and `diff` start from: the graph built as `buildGraph` does (its
 * warnings printed) and its inputs, read from `--input NAME=PATH.npy` files or
 * drawn from the seed, with `--dim` sizing symbolic dims.
 */
export function buildWithInputs(
  file: string,
  o: BuildOptions,
  args: Parsed,
  io: Io,
): { built: Built; feeds: Record<string, Tensor> } {
  const built = buildGraph(file, o);
  warn(built, io);
  const feeds = prepareInputs(built.graph, {
    files: args.opts.input as string[],
    seed: o.seed,
    dims: dimsOf(args),
    memoryBudget: memoryBudget(args.opts["memory-budget"] as string | undefined),
  });
  return { built, feeds };
}
