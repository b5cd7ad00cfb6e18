/**
 * AveragePool: the mean of each window. With count_include_pad=0 (default)
 * the divisor counts only positions inside the input; with 1 it also counts
 * the explicit padding (but not positions past it added by ceil_mode).
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, finish, input, kernelFailIf, numbers, scratch } from "../util.ts";
import { windowGeometry } from "./conv_util.ts";
import { forEachWindow } from "./pool_util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const averagePool: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  kernelFailIf(x.shape.length < 3, `AveragePool expects an input of rank >= 3, found [${x.shape}]`);
  const [N, C] = x.shape;
  const inSp = x.shape.slice(2);
  const geo = windowGeometry(attrs, inSp);
  const includePad = attrInt(attrs, "count_include_pad", 0) !== 0;
  const inP = numel(inSp), outP = numel(geo.out);
  const xv = numbers(x);
  const out = scratch(x.dtype, N * C * outP);
  forEachWindow(N * C, inSp, geo, (plane, p, inside, padded) => {
    let s = 0;
    for (const i of inside) s += xv[plane * inP + i];
    out[plane * outP + p] = s / (includePad ? padded : inside.length);
  });
  return [finish(x.dtype, [N, C, ...geo.out], out)];
};
