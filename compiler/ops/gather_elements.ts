/**
 * GatherElements (opset 13): the output has the shape of `indices`, which
 * has the rank of `data`.
 */
import { formatType } from "../ir/graph.ts";
import { register, ShapeError } from "./registry.ts";
import { expectDtype, INDEX, input, intAttr, normAxis } from "./rules.ts";

register({
  op: "GatherElements",
  since: 13,
  inputs: [{ name: "data" }, { name: "indices" }],
  outputs: [{ name: "output" }],
  attrs: { axis: { type: "int", default: 0 } },
  infer(ctx) {
    const x = input(ctx, "GatherElements", 0, "data");
    const idx = input(ctx, "GatherElements", 1, "indices");
    expectDtype("GatherElements", "indices", idx, INDEX);
    if (idx.shape.length !== x.shape.length || x.shape.length === 0) {
      throw new ShapeError(
        `GatherElements expects indices of the same rank (>= 1) as data: data ${
          formatType(x)
        }, indices ${formatType(idx)}`,
      );
    }
    normAxis("GatherElements", intAttr(ctx.attrs, "axis"), x.shape.length);
    return [{ dtype: x.dtype, shape: [...idx.shape] }];
  },
});
