/**
 * Cast (opset 13): same shape, element type given by `to` (an ONNX
 * TensorProto.DataType code).
 */
import { register, ShapeError } from "./registry.ts";
import { dtypeFromOnnx, input } from "./rules.ts";

register({
  op: "Cast",
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
        `Cast expects 'to' to name a supported element type, found ${JSON.stringify(to)}`,
      );
    }
    return [{ dtype, shape: [...x.shape] }];
  },
});
