/**
 * OneHot (opset 11): inserts a dim of size `depth` (a scalar input) at
 * `axis` of the indices' shape; the element type is that of `values`
 * ([off_value, on_value]).
 */
import { formatType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { constInts, expectDtype, freshDim, input, normAxis, NUMERIC } from "./rules.ts";
import { diag } from "../diagnostics.ts";

export const oneHotOp: OpDef = {
  op: "OneHot",
  differentiable: false,
  since: 11,
  inputs: [{ name: "indices" }, { name: "depth" }, { name: "values" }],
  outputs: [{ name: "output" }],
  attrs: { axis: { type: "int", default: -1 } },
  infer(ctx) {
    const idx = input(ctx, "OneHot", 0, "indices");
    const depth = input(ctx, "OneHot", 1, "depth");
    const values = input(ctx, "OneHot", 2, "values");
    expectDtype("OneHot", "indices", idx, NUMERIC);
    expectDtype("OneHot", "depth", depth, NUMERIC);
    if (!(depth.shape.length === 0 || (depth.shape.length === 1 && depth.shape[0] === 1))) {
      throw new ShapeError(
        ...diag("DLM0227", "OneHot", "'depth' to be a scalar", formatType(depth)),
      );
    }
    if (!(values.shape.length === 1 && values.shape[0] === 2)) {
      throw new ShapeError(
        ...diag("DLM0227", "OneHot", "'values' to be [off_value, on_value]", formatType(values)),
      );
    }
    const rank = idx.shape.length + 1;
    const axis = normAxis("OneHot", ctx.attrs.axis as number ?? -1, rank);
    const dv = constInts(ctx, 1)?.[0];
    if (dv !== undefined && dv < 1) {
      throw new ShapeError(...diag("DLM0227", "OneHot", "depth >= 1", dv));
    }
    const shape = [...idx.shape];
    // depth may be a float: ONNX casts it to an integer.
    shape.splice(axis, 0, dv !== undefined ? Math.trunc(dv) : freshDim("OneHot"));
    return [{ dtype: values.dtype, shape }];
  },
};
