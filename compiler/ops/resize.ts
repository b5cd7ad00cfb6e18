/**
 * Resize (opset 13): output dims from the constant `sizes` input, or from
 * `scales` as out[i] = floor(in[i] * scales[i]). An empty tensor counts as
 * absent (exporters pass an empty `scales` together with `sizes`).
 */
import { type Dim, formatType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { dimDiv, dimMul } from "./dims.ts";
import { constInts, expectDtype, FLOAT_NO_BF16, freshDim, input, strAttr } from "./rules.ts";
import { diag } from "../diagnostics.ts";

/** Size of a tensor type when known to be empty (a 0 dim). */
function isEmpty(shape: readonly Dim[]): boolean {
  return shape.some((d) => d === 0);
}

export const resizeOp: OpDef = {
  op: "Resize",
  noGradYet: "no rule yet",
  since: 13,
  inputs: [
    { name: "X" },
    { name: "roi", optional: true },
    { name: "scales", optional: true },
    { name: "sizes", optional: true },
  ],
  outputs: [{ name: "Y" }],
  attrs: {
    coordinate_transformation_mode: { type: "string", default: "half_pixel" },
    cubic_coeff_a: { type: "float", default: -0.75 },
    exclude_outside: { type: "int", default: 0 },
    extrapolation_value: { type: "float", default: 0.0 },
    mode: { type: "string", default: "nearest" },
    nearest_mode: { type: "string", default: "round_prefer_floor" },
  },
  infer(ctx) {
    const x = input(ctx, "Resize", 0, "X");
    const rank = x.shape.length;
    const mode = strAttr(ctx.attrs, "mode", "nearest");
    if (!["nearest", "linear", "cubic"].includes(mode)) {
      throw new ShapeError(
        ...diag("DLM0227", "Resize", "mode 'nearest', 'linear' or 'cubic'", `'${mode}'`),
      );
    }
    const scalesT = ctx.inputs[2] && !isEmpty(ctx.inputs[2].shape) ? ctx.inputs[2] : undefined;
    const sizesT = ctx.inputs[3] && !isEmpty(ctx.inputs[3].shape) ? ctx.inputs[3] : undefined;
    if (scalesT && sizesT) {
      throw new ShapeError(...diag("DLM0227", "Resize", "either 'scales' or 'sizes'", "both"));
    }
    if (!scalesT && !sizesT) {
      throw new ShapeError(...diag("DLM0227", "Resize", "'scales' or 'sizes'", "neither"));
    }
    if (sizesT) {
      expectDtype("Resize", "sizes", sizesT, ["i64"]);
      const sizes = constInts(ctx, 3);
      if (!sizes) return [{ dtype: x.dtype, shape: x.shape.map(() => freshDim("Resize")) }];
      if (sizes.length !== rank) {
        throw new ShapeError(
          ...diag(
            "DLM0227",
            "Resize",
            `${rank} sizes for ${formatType(x)}`,
            `[${sizes.join(", ")}]`,
          ),
        );
      }
      return [{ dtype: x.dtype, shape: sizes }];
    }
    expectDtype("Resize", "scales", scalesT!, FLOAT_NO_BF16);
    const scales = constInts(ctx, 2);
    if (!scales) return [{ dtype: x.dtype, shape: x.shape.map(() => freshDim("Resize")) }];
    if (scales.length !== rank || scales.some((s) => !(s > 0))) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "Resize",
          `${rank} positive scales for ${formatType(x)}`,
          `[${scales.join(", ")}]`,
        ),
      );
    }
    const shape = x.shape.map((d, i): Dim => {
      const s = scales[i];
      if (typeof d === "number") return Math.floor(d * s);
      if (Number.isInteger(s)) return dimMul(d, s);
      if (Number.isInteger(1 / s)) return dimDiv(d, 1 / s);
      return freshDim("Resize");
    });
    return [{ dtype: x.dtype, shape }];
  },
};
