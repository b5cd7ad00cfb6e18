/**
 * Reading ONNX models and weights files, as build.ts takes it. Loaded with
 * pipeline.ts, or by `dlm compile` only when its input needs it
 * (build.ts's `onnxInputFor`): the decoder loads onnx-proto.
 */
import { decodeModel } from "../compiler/onnx/decode.ts";
import { loadWeights, readWeightsMap } from "../runtime/weights.ts";
import type { OnnxInput } from "./build.ts";

export const ONNX_INPUT: OnnxInput = { decodeModel, loadWeights, readWeightsMap };
