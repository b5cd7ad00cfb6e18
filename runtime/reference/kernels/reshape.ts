/**
 * Reshape: to `shape`, where -1 is inferred and 0 copies the input dim
 * (unless allowzero=1, when 0 is a real zero-size dim).
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, input, intsOf, kernelFail, kernelFailIf, reshaped } from "../util.ts";
import { numel } from "../../../compiler/ir/tensor.ts";

export const reshape: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const allowZero = attrInt(attrs, "allowzero", 0) !== 0;
  const shape = intsOf(input(inputs, 1)).map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d));
  const infer = shape.filter((d) => d === -1).length;
  kernelFailIf(infer > 1, `Reshape allows one -1 dim, found [${shape.join(", ")}]`);
  if (infer === 1) {
    const known = numel(shape.filter((d) => d !== -1));
    if (known === 0 || x.data.length % known !== 0) {
      kernelFail(`Cannot reshape [${x.shape.join(", ")}] to [${shape.join(", ")}]`);
    }
    shape[shape.indexOf(-1)] = x.data.length / known;
  }
  return [reshaped(x, shape)];
};
