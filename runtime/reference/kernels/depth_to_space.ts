/**
 * DepthToSpace: [N, C, H, W] to [N, C/b^2, H*b, W*b]. DCR (default):
 * reshape [N, b, b, C/b^2, H, W], transpose (0, 3, 4, 1, 5, 2); CRD:
 * reshape [N, C/b^2, b, b, H, W], transpose (0, 1, 4, 2, 5, 3).
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, attrString, input, kernelFailIf, reshaped } from "../util.ts";
import { transposeTensor } from "./transpose.ts";

export const depthToSpace: Kernel = (inputs, attrs) => {
  const x = input(inputs, 0);
  const b = attrInt(attrs, "blocksize", 0);
  kernelFailIf(x.shape.length !== 4, `DepthToSpace expects a 4-D input, found [${x.shape}]`);
  const [N, C, H, W] = x.shape;
  kernelFailIf(
    b < 1 || C % (b * b) !== 0,
    `Channels ${C} are not divisible by blocksize^2 (${b}^2)`,
  );
  const c = C / (b * b);
  const crd = attrString(attrs, "mode", "DCR") === "CRD";
  const t = crd
    ? transposeTensor(reshaped(x, [N, c, b, b, H, W]), [0, 1, 4, 2, 5, 3])
    : transposeTensor(reshaped(x, [N, b, b, c, H, W]), [0, 3, 4, 1, 5, 2]);
  return [reshaped(t, [N, c, H * b, W * b])];
};
