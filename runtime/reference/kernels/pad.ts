/**
 * Pad: pads = [x1_begin, x2_begin, ..., x1_end, x2_end, ...] (negative
 * crops). Modes: constant (value, default 0), reflect (mirror without the
 * edge), edge (repeat the edge). Attributes before opset 11, inputs after.
 */
import type { Kernel } from "../kernel.ts";
import { f32ToBf16, f32ToF16 } from "../../../compiler/ir/tensor.ts";
import {
  attrFloat,
  attrInts,
  attrString,
  elems,
  gatherByDims,
  input,
  intsOf,
  kernelFail,
  kernelFailIf,
  normAxis,
} from "../util.ts";

export const pad: Kernel = (inputs, attrs, ctx) => {
  const x = input(inputs, 0);
  const rank = x.shape.length;
  const mode = attrString(attrs, "mode", "constant");
  let pads: number[], value: unknown = 0;
  if (ctx.opset < 11) {
    pads = attrInts(attrs, "pads") ?? attrInts(attrs, "paddings") ?? [];
    value = attrFloat(attrs, "value", 0);
  } else {
    pads = intsOf(input(inputs, 1, "pads"));
    if (inputs[2] && inputs[2].data.length > 0) value = elems(inputs[2])[0];
    if (inputs[3]) {
      // opset 18 `axes`: pads cover only these axes.
      const axes = intsOf(inputs[3]).map((a) => normAxis(a, rank));
      const full = new Array(2 * rank).fill(0);
      axes.forEach((a, i) => {
        full[a] = pads[i];
        full[a + rank] = pads[i + axes.length];
      });
      pads = full;
    }
  }
  kernelFailIf(pads.length !== 2 * rank, `Expected ${2 * rank} pads, found ${pads.length}`);
  const shape = x.shape.map((d, i) => d + pads[i] + pads[i + rank]);
  kernelFailIf(
    shape.some((d) => d < 0),
    `Pads [${pads.join(", ")}] crop more than the input holds`,
  );
  const maps = shape.map((n, d) => {
    const dim = x.shape[d], before = pads[d];
    return Int32Array.from({ length: n }, (_, o) => {
      let s = o - before;
      if (s >= 0 && s < dim) return s;
      switch (mode) {
        case "constant":
          return -1;
        case "edge":
          return Math.min(Math.max(s, 0), dim - 1);
        case "reflect": {
          if (dim === 1) return 0;
          // Mirror about the edges without repeating them; period 2 * (dim - 1).
          const period = 2 * (dim - 1);
          s = ((s % period) + period) % period;
          return s < dim ? s : period - s;
        }
        case "wrap":
          return ((s % dim) + dim) % dim;
        default:
          return kernelFail(`Unknown pad mode "${mode}"`);
      }
    });
  });
  // f16/bf16 data holds raw bits: encode the fill value the same way.
  if (x.dtype === "f16") value = f32ToF16(Number(value));
  if (x.dtype === "bf16") value = f32ToBf16(Number(value));
  return [gatherByDims(x, shape, maps, value)];
};
