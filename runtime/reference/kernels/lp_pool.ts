/** LpPool: (sum over each window of |x|^p)^(1/p) (p default 2); padding counts as 0. */
import type { Kernel } from "../kernel.ts";
import { attrInt, finish, input, numbers, scratch } from "../util.ts";
import { windowGeometry } from "./conv_util.ts";
import { forEachWindow } from "./pool_util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const lpPool: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const [N, C] = x.shape;
  const inSp = x.shape.slice(2);
  const geo = windowGeometry(attrs, inSp);
  const p = attrInt(attrs, "p", 2);
  const inP = numel(inSp), outP = numel(geo.out);
  const xv = numbers(x);
  const out = scratch(x.dtype, N * C * outP);
  forEachWindow(N * C, inSp, geo, (plane, o, inside) => {
    let s = 0;
    for (const i of inside) s += Math.pow(Math.abs(xv[plane * inP + i]), p);
    out[plane * outP + o] = Math.pow(s, 1 / p);
  });
  return [finish(x.dtype, [N, C, ...geo.out], out)];
};
