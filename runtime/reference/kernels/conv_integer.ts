/**
 * ConvInteger: i32 = Conv(x - x_zero_point, w - w_zero_point), where
 * w_zero_point is a scalar or one per output channel.
 */
import type { Kernel } from "../kernel.ts";
import { fromValues, input, numbers } from "../util.ts";
import { conv } from "./conv.ts";
import { numel, type Tensor } from "../../../compiler/ir/tensor.ts";

/** x - zp as f64; zp is a scalar or one value per index of dim 0. */
function minusZeroPoint(x: Tensor, zp: Tensor | undefined): Tensor {
  const xv = numbers(x), z = zp ? numbers(zp) : [0];
  const inner = numel(x.shape.slice(1));
  const out = new Float64Array(xv.length);
  for (let i = 0; i < xv.length; i++) out[i] = xv[i] - z[z.length > 1 ? Math.floor(i / inner) : 0];
  return { dtype: "f64", shape: x.shape, data: out };
}

export const convInteger: Kernel = (inputs, attrs, ctx) => {
  const x = minusZeroPoint(input(inputs, 0), inputs[2] && { ...inputs[2], shape: [] });
  const w = minusZeroPoint(input(inputs, 1), inputs[3]);
  const [y] = conv([x, w], attrs, ctx);
  return [fromValues("i32", y.shape, y.data as Float64Array)];
};
