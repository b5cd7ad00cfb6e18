/**
 * ScatterElements (opset 16): a copy of `data` with the elements of
 * `updates` written (or, per `reduction`, added / multiplied) at the
 * positions `indices` gives along `axis`. The output has data's type.
 * Gradient rules use it to scatter-add (Gather, GatherElements, MaxPool).
 */
import { formatType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { expectDtype, INDEX, input, intAttr, normAxis } from "./rules.ts";
import { diag } from "../diagnostics.ts";

export const scatterElementsOp: OpDef = {
  op: "ScatterElements",
  noGradYet: "no rule yet",
  since: 16,
  inputs: [{ name: "data" }, { name: "indices" }, { name: "updates" }],
  outputs: [{ name: "output" }],
  attrs: {
    axis: { type: "int", default: 0 },
    reduction: { type: "string", default: "none" },
  },
  infer(ctx) {
    const x = input(ctx, "ScatterElements", 0, "data");
    const idx = input(ctx, "ScatterElements", 1, "indices");
    const upd = input(ctx, "ScatterElements", 2, "updates");
    expectDtype("ScatterElements", "indices", idx, INDEX);
    if (
      idx.shape.length !== x.shape.length || upd.shape.length !== x.shape.length ||
      x.shape.length === 0
    ) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "ScatterElements",
          "data, indices and updates of one rank (>= 1)",
          `data ${formatType(x)}, indices ${formatType(idx)}, updates ${formatType(upd)}`,
        ),
      );
    }
    if (upd.dtype !== x.dtype) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "ScatterElements",
          `updates of data's dtype ${x.dtype}`,
          formatType(upd),
        ),
      );
    }
    normAxis("ScatterElements", intAttr(ctx.attrs, "axis"), x.shape.length);
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
};
