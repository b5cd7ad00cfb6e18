/**
 * QLinearConv: y = quantize((Conv(x - x_zp, w - w_zp) + B) * x_scale * w_scale / y_scale + y_zp),
 * with w_scale / w_zero_point per tensor or per output channel and B an
 * optional i32 bias in the accumulator's scale.
 */
import type { Kernel } from "../kernel.ts";
import { finish, input, numbers, scratch } from "../util.ts";
import { conv } from "./conv.ts";
import { numel, type Tensor } from "../../../compiler/ir/tensor.ts";
import { saturate } from "./quantize_util.ts";

function minus(x: Tensor, zp: Tensor): Tensor {
  const xv = numbers(x), z = numbers(zp);
  const inner = numel(x.shape.slice(1));
  const out = new Float64Array(xv.length);
  for (let i = 0; i < xv.length; i++) out[i] = xv[i] - z[z.length > 1 ? Math.floor(i / inner) : 0];
  return { dtype: "f64", shape: x.shape, data: out };
}

export const qLinearConv: Kernel = (inputs, attrs, ctx) => {
  const x = input(inputs, 0), xScale = input(inputs, 1), xZp = input(inputs, 2);
  const w = input(inputs, 3), wScale = input(inputs, 4), wZp = input(inputs, 5);
  const yScale = input(inputs, 6), yZp = input(inputs, 7), bias = inputs[8];
  const xs = { ...xZp, shape: [] as number[] };
  const [acc] = conv([minus(x, xs), minus(w, wZp), bias && numbersAsF64(bias)], attrs, ctx);
  const accv = acc.data as Float64Array;
  const [, M] = acc.shape;
  const inner = numel(acc.shape.slice(2));
  const sx = numbers(xScale)[0], sw = numbers(wScale), sy = numbers(yScale)[0];
  const zy = numbers(yZp)[0];
  const out = scratch(yZp.dtype, accv.length);
  for (let i = 0; i < accv.length; i++) {
    const m = Math.floor(i / inner) % M;
    out[i] = saturate((accv[i] * sx * sw[sw.length > 1 ? m : 0]) / sy, yZp.dtype, zy);
  }
  return [finish(yZp.dtype, acc.shape, out)];
};

function numbersAsF64(t: Tensor): Tensor {
  return { dtype: "f64", shape: t.shape, data: Float64Array.from(numbers(t)) };
}
