/**
 * What the training loop runs: a model loaded for it (`LoadedModel`), or a
 * source that model.ts loads. Apart from model.ts so that a loop given a
 * loaded model (`dlm train` from its compiled-step cache) loads no ONNX
 * decoder or encoder.
 */
import type { Graph, PackLayout } from "../../compiler/ir/graph.ts";
import type { Tensor } from "../../compiler/ir/tensor.ts";
import type { Draw } from "./draws.ts";

/**
 * A step or evaluation model: an IR graph, ONNX bytes, an ONNX file path, or a model already
 * loaded (by `loadModel` with the options its user gives: `dlm train`'s compiled-step cache).
 */
export type ModelSource = Graph | Uint8Array | string | LoadedModel;

/** Whether a model source is a loaded model. */
export function isLoaded(src: ModelSource): src is LoadedModel {
  return typeof src === "object" && !(src instanceof Uint8Array) && "bytes" in src &&
    "defaults" in src;
}

/** A model ready for the loop. */
export interface LoadedModel {
  /** The graph without input defaults (for the reference interpreter). */
  graph: Graph;
  /** Default-domain opset (for the reference interpreter). */
  opset: number;
  /** The same model as ONNX bytes (for onnxruntime). */
  bytes: Uint8Array;
  /** Initializer values of graph inputs: initial state. */
  defaults: Map<string, Tensor>;
  inputNames: string[];
  outputNames: string[];
  /** Parameters the step reads from flat vectors (compiler/train/pack.ts); empty when none. */
  packs: PackLayout[];
  /**
   * A multi-step model (compiler/train/multistep.ts): batch inputs stacked along a leading
   * axis, `loss` and the metrics one value per step.
   */
  multiStep: boolean;
  /** The random draws taken out of the graph as inputs (draws.ts), with `draws: true`. */
  draws: Draw[];
}

/** Whether a step model's `loss` is a vector: one value per stacked batch. */
export function isMultiStep(g: Graph): boolean {
  return g.outputs.find((o) => o.name === "loss")?.type.shape.length === 1;
}
