/**
 * Resize: interpolate to `sizes` or by `scales` (one of the two inputs; from
 * opset 11 also roi). Opset 10 takes (X, scales) and behaves as
 * asymmetric + floor nearest. See resize_util.ts for the coordinate maths.
 */
import type { Kernel } from "../kernel.ts";
import { attrFloat, attrInt, attrString, input, intsOf, kernelFailIf, numbers } from "../util.ts";
import { interpolate } from "./resize_util.ts";

export const resize: Kernel = (inputs, attrs, ctx) => {
  const x = input(inputs, 0);
  const r = x.shape.length;
  const legacy = ctx.opset < 11;
  const scalesT = legacy ? inputs[1] : inputs[2];
  const sizesT = legacy ? undefined : inputs[3];
  let scales: number[], outShape: number[];
  if (sizesT && sizesT.data.length > 0) {
    outShape = intsOf(sizesT);
    kernelFailIf(outShape.length !== r, `Expected ${r} sizes, found ${outShape.length}`);
    scales = outShape.map((s, i) => s / x.shape[i]);
  } else {
    kernelFailIf(!scalesT || scalesT.data.length !== r, `Resize expects ${r} scales or sizes`);
    scales = Array.from(numbers(scalesT!));
    outShape = x.shape.map((d, i) => Math.floor(d * scales[i]));
  }
  const roiT = legacy ? undefined : inputs[1];
  return [
    interpolate(x, outShape, scales, {
      mode: attrString(attrs, "mode", "nearest"),
      coord: legacy
        ? "asymmetric"
        : attrString(attrs, "coordinate_transformation_mode", "half_pixel"),
      nearestMode: legacy ? "floor" : attrString(attrs, "nearest_mode", "round_prefer_floor"),
      cubicA: attrFloat(attrs, "cubic_coeff_a", -0.75),
      excludeOutside: attrInt(attrs, "exclude_outside", 0) !== 0,
      extrapolation: attrFloat(attrs, "extrapolation_value", 0),
      roi: roiT && roiT.data.length > 0 ? Array.from(numbers(roiT)) : undefined,
    }),
  ];
};
