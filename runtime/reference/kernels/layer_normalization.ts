/**
 * LayerNormalization: normalize over dims [axis, rank) (axis default -1):
 *   y = (x - mean) / sqrt(var + epsilon) * Scale + B
 * with population variance; optional outputs Mean and InvStdDev
 * (= 1 / sqrt(var + epsilon)) have the reduced dims kept as 1, in f32.
 */
import type { Kernel } from "../kernel.ts";
import {
  attrFloat,
  attrInt,
  broadcastMap,
  finish,
  input,
  normAxis,
  numbers,
  scratch,
} from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const layerNormalization: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0), scaleT = input(inputs, 1, "Scale"), biasT = inputs[2];
  const axis = normAxis(attrInt(attrs, "axis", -1), x.shape.length);
  const eps = attrFloat(attrs, "epsilon", 1e-5);
  const outer = numel(x.shape.slice(0, axis)), D = numel(x.shape.slice(axis));
  const xv = numbers(x), sv = numbers(scaleT), bv = biasT ? numbers(biasT) : undefined;
  const sMap = broadcastMap(x.shape, scaleT.shape);
  const bMap = biasT ? broadcastMap(x.shape, biasT.shape) : null;
  const out = scratch(x.dtype, xv.length);
  const means = new Float32Array(outer), invs = new Float32Array(outer);
  for (let o = 0; o < outer; o++) {
    const off = o * D;
    let mean = 0;
    for (let i = 0; i < D; i++) mean += xv[off + i];
    mean /= D;
    let v = 0;
    for (let i = 0; i < D; i++) v += (xv[off + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / D + eps);
    means[o] = mean;
    invs[o] = inv;
    for (let i = 0; i < D; i++) {
      const f = off + i;
      const s = sv[sMap ? sMap[f] : f];
      const b = bv ? bv[bMap ? bMap[f] : f] : 0;
      out[f] = (xv[f] - mean) * inv * s + b;
    }
  }
  const statShape = x.shape.map((d, i) => (i < axis ? d : 1));
  return [
    finish(x.dtype, x.shape, out),
    finish("f32", statShape, means),
    finish("f32", statShape, invs),
  ];
};
