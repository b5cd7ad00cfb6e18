/**
 * RandomNormalLike (opset 1): random numbers with the input's shape; the
 * element type is `dtype` (an ONNX type code) or else the input's.
 */
import { type OpDef, ShapeError } from "./op_def.ts";
import { dtypeFromOnnx, expectDtype, FLOAT_NO_BF16, input } from "./rules.ts";
import { diag } from "../diagnostics.ts";

export const randomNormalLikeOp: OpDef = {
  op: "RandomNormalLike",
  differentiable: false,
  since: 1,
  inputs: [{ name: "input" }],
  outputs: [{ name: "output" }],
  attrs: {
    dtype: { type: "int" },
    mean: { type: "float", default: 0.0 },
    scale: { type: "float", default: 1.0 },
    seed: { type: "float" },
  },
  nature: ["random"],
  infer(ctx) {
    const x = input(ctx, "RandomNormalLike", 0, "input");
    const code = ctx.attrs.dtype;
    const dtype = typeof code === "number" ? dtypeFromOnnx(code) : x.dtype;
    if (!dtype) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "RandomNormalLike",
          "'dtype' to name a supported element type",
          `${code}`,
        ),
      );
    }
    expectDtype("RandomNormalLike", "output", { dtype, shape: x.shape }, FLOAT_NO_BF16);
    return [{ dtype, shape: [...x.shape] }];
  },
};
