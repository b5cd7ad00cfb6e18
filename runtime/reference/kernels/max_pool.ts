/**
 * MaxPool: the maximum of each window (padding never wins), with strides,
 * dilations, pads, auto_pad and ceil_mode. The optional second output holds
 * the flat index of each maximum in the whole input tensor, row-major
 * (storage_order=0) or with the spatial dims column-major (storage_order=1).
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, finish, i64Tensor, input, kernelFailIf, numbers, scratch } from "../util.ts";
import { windowGeometry } from "./conv_util.ts";
import { forEachWindow } from "./pool_util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const maxPool: Kernel = (inputs, attrs, ctx) => {
  const x = input(inputs, 0);
  kernelFailIf(x.shape.length < 3, `MaxPool expects an input of rank >= 3, found [${x.shape}]`);
  const [N, C] = x.shape;
  const inSp = x.shape.slice(2);
  const geo = windowGeometry(attrs, inSp);
  const colMajor = attrInt(attrs, "storage_order", 0) !== 0;
  const inP = numel(inSp), outP = numel(geo.out);
  const xv = numbers(x);
  const out = scratch(x.dtype, N * C * outP);
  const wantIdx = ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== "";
  const idx = wantIdx ? new Array<number>(N * C * outP) : undefined;
  forEachWindow(N * C, inSp, geo, (plane, p, inside) => {
    let best = -Infinity, at = -1;
    for (const i of inside) {
      const v = xv[plane * inP + i];
      if (v > best || at < 0 || v !== v) {
        best = v;
        at = i;
        if (v !== v) break;
      }
    }
    out[plane * outP + p] = best;
    if (idx) idx[plane * outP + p] = plane * inP + (colMajor ? toColMajor(at, inSp) : at);
  });
  const y = finish(x.dtype, [N, C, ...geo.out], out);
  return idx ? [y, i64Tensor(y.shape, idx)] : [y];
};

/** A row-major offset within a plane, re-expressed column-major. */
function toColMajor(i: number, dims: number[]): number {
  let rest = i, idx = 0, s = 1;
  const coord = new Array<number>(dims.length);
  for (let d = dims.length - 1; d >= 0; d--) {
    coord[d] = rest % dims[d];
    rest = Math.floor(rest / dims[d]);
  }
  for (let d = 0; d < dims.length; d++) {
    idx += coord[d] * s;
    s *= dims[d];
  }
  return idx;
}
