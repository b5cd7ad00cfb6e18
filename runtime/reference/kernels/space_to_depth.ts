/**
 * SpaceToDepth: [N, C, H, W] to [N, C*b^2, H/b, W/b]: reshape
 * [N, C, H/b, b, W/b, b], transpose (0, 3, 5, 1, 2, 4).
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, input, kernelFailIf, reshaped } from "../util.ts";
import { transposeTensor } from "./transpose.ts";

export const spaceToDepth: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const b = attrInt(attrs, "blocksize", 0);
  kernelFailIf(x.shape.length !== 4, `SpaceToDepth expects a 4-D input, found [${x.shape}]`);
  const [N, C, H, W] = x.shape;
  kernelFailIf(b < 1 || H % b !== 0 || W % b !== 0, `H and W must be divisible by blocksize ${b}`);
  const t = transposeTensor(reshaped(x, [N, C, H / b, b, W / b, b]), [0, 3, 5, 1, 2, 4]);
  return [reshaped(t, [N, C * b * b, H / b, W / b])];
};
