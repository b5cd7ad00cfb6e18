/** Unsqueeze: insert size-1 dims at `axes`, positions in the output (attribute before opset 13). */
import type { Kernel } from "../kernel.ts";
import { attrInts, input, intsOf, kernelFailIf, normAxis, reshaped } from "../util.ts";

export const unsqueeze: Kernel = (inputs, attrs, ctx) => {
  const x = input(inputs, 0);
  const raw = ctx.opset < 13 ? attrInts(attrs, "axes") : inputs[1] ? intsOf(inputs[1]) : undefined;
  kernelFailIf(!raw, "Unsqueeze requires axes");
  const rank = x.shape.length + raw!.length;
  const axes = new Set(raw!.map((a) => normAxis(a, rank)));
  kernelFailIf(axes.size !== raw!.length, `Unsqueeze axes repeat: [${raw!.join(", ")}]`);
  const shape: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(axes.has(i) ? 1 : x.shape[k++]);
  return [reshaped(x, shape)];
};
