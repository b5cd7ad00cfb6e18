/**
 * Upsample (deprecated): out size floor(in * scale) per dim; nearest takes
 * in[floor(x / scale)], linear interpolates with x_ori = x / scale.
 * Scales are an attribute before opset 9, an input from 9.
 */
import type { Kernel } from "../kernel.ts";
import { attrInts, attrString, input, kernelFailIf, numbers } from "../util.ts";
import { interpolate } from "./resize_util.ts";

export const upsample: Kernel = (inputs, attrs, ctx) => {
  const x = input(inputs, 0);
  const scales = ctx.opset < 9
    ? attrInts(attrs, "scales")
    : inputs[1]
    ? Array.from(numbers(inputs[1]))
    : undefined;
  kernelFailIf(!scales || scales.length !== x.shape.length, "Upsample expects one scale per dim");
  const outShape = x.shape.map((d, i) => Math.floor(d * scales![i]));
  return [
    interpolate(x, outShape, scales!, {
      mode: attrString(attrs, "mode", "nearest") === "nearest" ? "nearest" : "linear",
      coord: "asymmetric",
      nearestMode: "floor",
      cubicA: -0.75,
      excludeOutside: false,
      extrapolation: 0,
    }),
  ];
};
