/**
 * Cast (opset 13): same shape, element type given by `to` (an ONNX
 * TensorProto.DataType code).
 */
import { type OpDef, ShapeError } from "./op_def.ts";
import { dtypeFromOnnx, input } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { gradOf } from "./grad_util.ts";
import { isFloat } from "../ir/tensor.ts";
import { diag } from "../diagnostics.ts";

export const castOp: OpDef = {
  op: "Cast",
  grad: castGrad,
  since: 13,
  inputs: [{ name: "input" }],
  outputs: [{ name: "output" }],
  attrs: { to: { type: "int", required: true } },
  infer(ctx) {
    const x = input(ctx, "Cast", 0, "input");
    const to = ctx.attrs.to;
    const dtype = typeof to === "number" ? dtypeFromOnnx(to) : undefined;
    if (!dtype) {
      throw new ShapeError(
        ...diag("DLM0227", "Cast", "'to' to name a supported element type", JSON.stringify(to)),
      );
    }
    return [{ dtype, shape: [...x.shape] }];
  },
};

/** Float to float: the gradient is cast back. From or to integers there is none. */
function castGrad(c: GradContext) {
  const from = c.inputTypes[0]!.dtype;
  if (!isFloat(from) || !isFloat(c.outputTypes[0].dtype)) return [undefined];
  return [gradOf(c, 0).cast(from).name];
}
