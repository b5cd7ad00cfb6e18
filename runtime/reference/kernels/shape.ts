/** Shape: the input's shape as i64, optionally sliced by `start`/`end` (opset 15). */
import type { Kernel } from "../kernel.ts";
import { attrInt, i64Tensor, input } from "../util.ts";

export const shape: Kernel = (inputs, attrs) => {
  const dims = input(inputs, 0).shape;
  const r = dims.length;
  const clampAxis = (a: number) => Math.min(Math.max(a < 0 ? a + r : a, 0), r);
  const start = clampAxis(attrInt(attrs, "start", 0));
  const end = clampAxis(attrInt(attrs, "end", r));
  const out = dims.slice(start, Math.max(start, end));
  return [i64Tensor([out.length], out)];
};
