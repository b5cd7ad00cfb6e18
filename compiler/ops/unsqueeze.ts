/**
 * Unsqueeze (opset 13): inserts size-1 dims at the listed axes (constant
 * i64 input), the axes counting in the output's rank.
 */
import { type Dim, formatType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { constInts, expectDtype, expectRank, freshDim, input, normAxes } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { reshapeLike } from "./grad_util.ts";
import { diag } from "../diagnostics.ts";

export const unsqueezeOp: OpDef = {
  op: "Unsqueeze",
  grad: unsqueezeGrad,
  since: 13,
  inputs: [{ name: "data" }, { name: "axes" }],
  outputs: [{ name: "expanded" }],
  attrs: {},
  infer(ctx) {
    const x = input(ctx, "Unsqueeze", 0, "data");
    const a = input(ctx, "Unsqueeze", 1, "axes");
    expectDtype("Unsqueeze", "axes", a, ["i64"]);
    expectRank("Unsqueeze", "axes", a, 1);
    const axes = constInts(ctx, 1);
    if (!axes) {
      const k = a.shape[0];
      if (typeof k !== "number") {
        throw new ShapeError(
          ...diag("DLM0231", "Unsqueeze", "constant axes or axes of known length", formatType(a)),
        );
      }
      return [{
        dtype: x.dtype,
        shape: Array.from({ length: x.shape.length + k }, () => freshDim("Unsqueeze")),
      }];
    }
    const rank = x.shape.length + axes.length;
    const set = new Set(normAxes("Unsqueeze", axes, rank));
    const shape: Dim[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) shape.push(set.has(i) ? 1 : x.shape[j++]);
    return [{ dtype: x.dtype, shape }];
  },
};

/** A reshape moves no values: the gradient is g reshaped back to the input's shape. */
function unsqueezeGrad(c: GradContext) {
  return [reshapeLike(c, c.outputGrads[0], c.node.inputs[0]).name, undefined];
}
