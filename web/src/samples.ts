/**
 * The sample viewer's side in the training worker: a generative example's sampler model with
 * trained weights (from a training in the page, or a safetensors file of `dlm train --save`),
 * its inputs drawn as `dlm sample` draws them (runtime/sample_inputs.ts: noise N(0, 1) from the
 * seed and the input's name, conditions cycled over the rows), its first output tiled into a grid
 * (runtime/formats/image_grid.ts) with `dlm sample`'s automatic range. The same weights and seed
 * give `dlm sample`'s samples.
 */
import type { Tensor } from "../../compiler/ir/tensor.ts";
import type { ReadFile } from "../../compiler/check/program.ts";
import { autoRange, type Image, imageGrid, imageShape } from "../../runtime/formats/image_grid.ts";
import { sampleInputs } from "../../runtime/sample_inputs.ts";
import { loadModel } from "../../runtime/train/model.ts";
import { inferenceModel, type OpenRunner } from "./train.ts";
import type { SamplerSpec } from "./sampler_specs.ts";

/** The sample batch's first output and its grid. */
export interface Samples {
  output: Tensor;
  /** What loading the weights noted (parameters they lack, tensors nothing takes). */
  warnings: string[];
  grid: Image;
  range: [number, number];
}

/** Draw `spec`'s samples with `weights` (safetensors bytes) on a runner `open` gives. */
export async function drawSamples(
  spec: SamplerSpec,
  read: ReadFile,
  weights: Uint8Array,
  seed: number,
  open: OpenRunner,
  weightsName = "the weights",
): Promise<Samples> {
  const { graph, onnx, warnings } = inferenceModel(
    spec.file,
    read,
    weights,
    spec.sampler,
    weightsName,
  );
  const dims: Record<string, number> = {};
  for (const inp of graph.inputs) {
    const d = inp.type.shape[0];
    if (typeof d === "string") dims[d] = spec.n;
  }
  const { feeds } = sampleInputs(graph, { seed, dims, conditions: spec.set });
  const runner = await open(loadModel(onnx, "sampler"), "forward");
  let out: Record<string, Tensor>;
  try {
    out = await runner.run(feeds);
  } finally {
    await runner.release();
  }
  const name = graph.outputs[0].name;
  const t = out[name];
  const y: Tensor = t.data instanceof Float32Array
    ? t
    : { dtype: "f32", shape: t.shape, data: Float32Array.from(t.data as ArrayLike<number>) };
  const chw = imageShape(y.shape);
  if (typeof chw === "string") throw new Error(`'${name}' cannot be drawn: ${chw}`);
  const range = autoRange(y.data as Float32Array);
  return {
    output: y,
    grid: imageGrid(y, chw, { nrow: spec.nrow, range }),
    range,
    warnings: warnings.map((w) => `${w.code}: ${w.message}`),
  };
}
