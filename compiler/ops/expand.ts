/**
 * Expand (opset 13): broadcasts the input against the constant i64 `shape`
 * (numpy rules, both ways: the result may be larger than `shape`).
 */
import { type Dim, formatType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { broadcastShapes, formatShape } from "./dims.ts";
import { constInts, expectDtype, expectRank, freshDim, input } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { diag } from "../diagnostics.ts";

export const expandOp: OpDef = {
  op: "Expand",
  grad: expandGrad,
  since: 13,
  inputs: [{ name: "input" }, { name: "shape" }],
  outputs: [{ name: "output" }],
  attrs: {},
  infer(ctx) {
    const x = input(ctx, "Expand", 0, "input");
    const s = input(ctx, "Expand", 1, "shape");
    expectDtype("Expand", "shape", s, ["i64"]);
    expectRank("Expand", "shape", s, 1);
    const dims = constInts(ctx, 1);
    if (dims) {
      return [{
        dtype: x.dtype,
        shape: broadcastShapes(x.shape, dims, [formatType(x), formatShape(dims)]),
      }];
    }
    const len = s.shape[0];
    if (typeof len !== "number") {
      throw new ShapeError(
        ...diag("DLM0231", "Expand", "a constant shape or a shape of known length", formatType(s)),
      );
    }
    // Unknown target: a dim n != 1 of the input survives (the target must be 1 or n there).
    const rank = Math.max(len, x.shape.length);
    const shape: Dim[] = [];
    for (let i = 0; i < rank; i++) {
      const d = x.shape[x.shape.length - rank + i];
      shape.push(typeof d === "number" && d !== 1 ? d : freshDim("Expand"));
    }
    return [{ dtype: x.dtype, shape }];
  },
};

/** Expand broadcasts: the gradient is summed back over the broadcast axes. */
function expandGrad(c: GradContext) {
  return [c.unbroadcast(c.outputGrads[0], c.inputTypes[0]!), undefined];
}
