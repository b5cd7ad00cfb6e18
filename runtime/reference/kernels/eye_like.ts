/** EyeLike: a 2-D tensor of the input's shape with ones on diagonal k (default 0). */
import type { Kernel } from "../kernel.ts";
import { attrDType, attrInt, fromValues, input, kernelFailIf } from "../util.ts";

export const eyeLike: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  kernelFailIf(x.shape.length !== 2, `EyeLike expects a 2-D input, found [${x.shape}]`);
  const dtype = attrDType(attrs, "dtype", x.dtype);
  const k = attrInt(attrs, "k", 0);
  const [R, C] = x.shape;
  const out = new Float64Array(R * C);
  for (let i = 0; i < R; i++) if (i + k >= 0 && i + k < C) out[i * C + i + k] = 1;
  return [fromValues(dtype, x.shape, out)];
};
