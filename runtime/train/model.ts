/**
 * Loading a training-step (or evaluation) model for the loop: the graph for
 * the reference interpreter, the ONNX bytes for onnxruntime, and the default
 * values of inputs that also have an initializer (ONNX's overridable
 * initializers). Those are stripped from the model so every backend treats
 * them as plain inputs: the loop feeds them at every step.
 */
import { diag, fail } from "../../compiler/diagnostics.ts";
import { cloneGraph, tapWeights } from "../../compiler/ir/graph.ts";
import type { Tensor } from "../../compiler/ir/tensor.ts";
import { decodeModel } from "../../compiler/onnx/decode.ts";
import { emitModel, PACKS_METADATA } from "../../compiler/onnx/emit.ts";
import { onnx } from "../../compiler/onnx/proto.ts";
import { fromTensorProto } from "../../compiler/onnx/tensor_proto.ts";
import { readFileOrFail } from "../fs.ts";
import { drawsAsInputs } from "./draws.ts";
import { isLoaded, isMultiStep, type LoadedModel, type ModelSource } from "./loaded.ts";

export { isLoaded, type LoadedModel, type ModelSource } from "./loaded.ts";

/**
 * Load a model from a graph, bytes or a file. Bad ONNX raises DLM0405, an
 * unreadable file DLM0401. With `draws`, its random draws become inputs
 * (draws.ts), which the caller feeds.
 */
export function loadModel(
  src: ModelSource,
  what = "model",
  opts: { draws?: boolean } = {},
): LoadedModel {
  if (isLoaded(src)) return src;
  if (typeof src === "string" || src instanceof Uint8Array) {
    const file = typeof src === "string" ? src : undefined;
    const raw = typeof src === "string" ? readFileOrFail(src, what) : src;
    const baseDir = file?.includes("/") ? file.slice(0, file.lastIndexOf("/")) : ".";
    let proto: any;
    try {
      proto = onnx.ModelProto.decode(raw);
    } catch {
      // decodeModel words the failure.
      decodeModel(raw, { file });
    }
    const defaults = new Map<string, Tensor>();
    let bytes = raw;
    // Initial values of state inputs and of the weights a step trains at some taps only (their
    // other taps, which no node reads: compiler/train/pack.ts) are defaults, not initializers.
    const inputs = new Set<string>([
      ...(proto?.graph?.input ?? []).map((v: any) => v.name),
      ...tappedInMetadata(proto?.metadataProps),
    ]);
    const inits: any[] = proto?.graph?.initializer ?? [];
    if (inits.some((t) => inputs.has(t.name))) {
      for (const t of inits) {
        if (inputs.has(t.name)) defaults.set(t.name, fromTensorProto(t, baseDir));
      }
      proto.graph.initializer = inits.filter((t) => !inputs.has(t.name));
      bytes = onnx.ModelProto.encode(proto).finish() as Uint8Array;
    }
    const { graph, opset } = decodeModel(bytes, { file, baseDir });
    const draws = opts.draws ? drawsAsInputs(graph) : [];
    if (draws.length) bytes = emitModel(graph, { opset }).model;
    return {
      graph,
      opset,
      bytes,
      defaults,
      inputNames: graph.inputs.map((v) => v.name),
      outputNames: graph.outputs.map((v) => v.name),
      packs: graph.packs ?? [],
      multiStep: isMultiStep(graph),
      draws,
    };
  }
  const graph = cloneGraph(src);
  const defaults = new Map<string, Tensor>();
  for (const name of [...graph.inputs.map((v) => v.name), ...tapWeights(graph.packs)]) {
    const t = graph.initializers.get(name);
    if (t) {
      defaults.set(name, t);
      graph.initializers.delete(name);
    }
  }
  if (graph.outputs.length === 0) {
    fail(...diag("DLM0422", `The ${what} '${graph.name}'`, "outputs", "none"));
  }
  const draws = opts.draws ? drawsAsInputs(graph) : [];
  return {
    graph,
    opset: 17,
    bytes: emitModel(graph).model,
    defaults,
    inputNames: graph.inputs.map((v) => v.name),
    outputNames: graph.outputs.map((v) => v.name),
    packs: graph.packs ?? [],
    multiStep: isMultiStep(graph),
    draws,
  };
}

/**
 * The weights that a step's `dlm.packs` metadata packs at some taps only: their initializers
 * hold the taps the step does not train.
 */
function tappedInMetadata(props: { key?: string; value?: string }[] | undefined): string[] {
  const entry = props?.find((p) => p.key === PACKS_METADATA);
  if (!entry?.value) return [];
  try {
    const packs = JSON.parse(entry.value);
    // Unchecked here (decodeModel checks the entry): only well-formed members are named.
    const ok = Array.isArray(packs) &&
      packs.every((p: any) => Array.isArray(p?.members) && p.members.every((m: any) => m));
    return ok ? [...tapWeights(packs)].filter((n) => typeof n === "string") : [];
  } catch {
    return []; // decodeModel words a broken entry
  }
}
