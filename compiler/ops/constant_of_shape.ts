/**
 * ConstantOfShape (opset 9): a tensor of the shape held in the i64 input,
 * filled with the one-element `value` tensor (default f32 0).
 */
import { formatType } from "../ir/graph.ts";
import type { Tensor } from "../ir/tensor.ts";
import { tensor } from "../ir/tensor.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { constInts, expectDtype, expectRank, freshDim, input } from "./rules.ts";
import { diag } from "../diagnostics.ts";

export const constantOfShapeOp: OpDef = {
  op: "ConstantOfShape",
  differentiable: false,
  since: 9,
  inputs: [{ name: "input" }],
  outputs: [{ name: "output" }],
  attrs: { value: { type: "tensor", default: tensor("f32", [1], [0]) } },
  infer(ctx) {
    const s = input(ctx, "ConstantOfShape", 0, "input");
    expectDtype("ConstantOfShape", "input", s, ["i64"]);
    expectRank("ConstantOfShape", "input", s, 1);
    const value = ctx.attrs.value as Tensor | undefined;
    const dtype = value?.dtype ?? "f32";
    if (value && value.data.length !== 1) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "ConstantOfShape",
          "a one-element value",
          formatType({ dtype, shape: value.shape }),
        ),
      );
    }
    const dims = constInts(ctx, 0);
    if (dims) {
      if (dims.some((d) => d < 0)) {
        throw new ShapeError(
          ...diag("DLM0227", "ConstantOfShape", "dims >= 0", `[${dims.join(", ")}]`),
        );
      }
      return [{ dtype, shape: dims }];
    }
    const rank = s.shape[0];
    if (typeof rank !== "number") {
      throw new ShapeError(
        ...diag(
          "DLM0231",
          "ConstantOfShape",
          "a constant shape or a shape of known length",
          formatType(s),
        ),
      );
    }
    return [{ dtype, shape: Array.from({ length: rank }, () => freshDim("ConstantOfShape")) }];
  },
};
