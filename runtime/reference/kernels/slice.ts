/**
 * Slice: starts/ends/axes/steps (attributes before opset 10, inputs after).
 * Per axis, negative bounds add the dim; then, for step > 0, start and end
 * clamp to [0, dim]; for step < 0, start clamps to [0, dim-1] and end to
 * [-1, dim-1]. The output has max(0, ceil((end - start) / step)) elements.
 */
import type { Kernel } from "../kernel.ts";
import {
  attrInts,
  gatherFlat,
  indexMap,
  input,
  intsOf,
  kernelFailIf,
  normAxis,
  stridesOf,
} from "../util.ts";

export const slice: Kernel = (inputs, attrs, ctx) => {
  const x = input(inputs, 0);
  const rank = x.shape.length;
  let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
  if (ctx.opset < 10) {
    starts = attrInts(attrs, "starts") ?? [];
    ends = attrInts(attrs, "ends") ?? [];
    axes = attrInts(attrs, "axes");
  } else {
    starts = intsOf(input(inputs, 1, "starts"));
    ends = intsOf(input(inputs, 2, "ends"));
    axes = inputs[3] ? intsOf(inputs[3]) : undefined;
    steps = inputs[4] ? intsOf(inputs[4]) : undefined;
  }
  axes ??= starts.map((_, i) => i);
  steps ??= starts.map(() => 1);
  kernelFailIf(
    ends.length !== starts.length || axes.length !== starts.length ||
      steps.length !== starts.length,
    "Slice expects starts, ends, axes and steps of one length",
  );
  const begin = x.shape.map(() => 0);
  const step = x.shape.map(() => 1);
  const shape = [...x.shape];
  axes.forEach((a, i) => {
    const ax = normAxis(a, rank);
    const dim = x.shape[ax];
    const s = steps![i];
    kernelFailIf(s === 0, "Slice steps must not be 0");
    let st = starts[i] < 0 ? starts[i] + dim : starts[i];
    let en = ends[i] < 0 ? ends[i] + dim : ends[i];
    if (s > 0) {
      st = Math.min(Math.max(st, 0), dim);
      en = Math.min(Math.max(en, 0), dim);
    } else {
      st = Math.min(Math.max(st, 0), dim - 1);
      en = Math.min(Math.max(en, -1), dim - 1);
    }
    begin[ax] = st;
    step[ax] = s;
    shape[ax] = Math.max(0, Math.ceil((en - st) / s));
  });
  const str = stridesOf(x.shape);
  const offset = begin.reduce((acc, b, d) => acc + b * str[d], 0);
  return [gatherFlat(x, shape, indexMap(shape, str.map((s, d) => s * step[d]), offset))];
};
