/**
 * The shared shape of the Reduce* kernels: axes (an attribute, or an input
 * from opset 13 for ReduceSum and 18 for the others), keepdims (default 1),
 * noop_with_empty_axes (default 0), and a fold over each output slot in f64.
 */
import type { AttrValue } from "../../../compiler/ir/graph.ts";
import type { Tensor } from "../../../compiler/ir/tensor.ts";
import type { KernelContext } from "../kernel.ts";
import {
  attrInt,
  attrInts,
  finish,
  input,
  intsOf,
  numbers,
  planReduction,
  type Reduction,
  scratch,
} from "../util.ts";

/** How one Reduce op folds a slot: acc = step(acc, x) from init, then done(acc, count). */
export interface Fold {
  init: number;
  step: (acc: number, x: number) => number;
  done?: (acc: number, count: number) => number;
}

/** The reduction plan of a Reduce node's input. */
export function planFor(
  inputs: (Tensor | undefined)[],
  attrs: Record<string, AttrValue>,
  ctx: KernelContext,
  axesInputSince: number,
): Reduction {
  const x = input(inputs, 0);
  const axes = ctx.opset >= axesInputSince
    ? (inputs[1] ? intsOf(inputs[1]) : undefined)
    : attrInts(attrs, "axes");
  return planReduction(
    x.shape,
    axes,
    attrInt(attrs, "keepdims", 1) !== 0,
    attrInt(attrs, "noop_with_empty_axes", 0) !== 0,
  );
}

/** Run a reduction with ONNX's attribute conventions. */
export function reduce(
  inputs: (Tensor | undefined)[],
  attrs: Record<string, AttrValue>,
  ctx: KernelContext,
  fold: Fold,
  axesInputSince = 18,
): Tensor {
  const x = input(inputs, 0);
  const plan = planFor(inputs, attrs, ctx, axesInputSince);
  const src = numbers(x);
  const acc = new Float64Array(plan.size).fill(fold.init);
  const { map } = plan;
  for (let i = 0; i < src.length; i++) acc[map[i]] = fold.step(acc[map[i]], src[i]);
  const out = scratch(x.dtype, plan.size);
  for (let i = 0; i < plan.size; i++) out[i] = fold.done ? fold.done(acc[i], plan.count) : acc[i];
  return finish(x.dtype, plan.shape, out);
}
