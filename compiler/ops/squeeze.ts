/**
 * Squeeze (opset 13): removes the listed axes (constant i64 input), which
 * must have size 1, or every size-1 dim when `axes` is absent (a symbolic
 * dim is then assumed not to be 1).
 */
import { formatType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { constInts, expectDtype, expectRank, freshDim, input, normAxes } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { reshapeLike } from "./grad_util.ts";
import { diag } from "../diagnostics.ts";

export const squeezeOp: OpDef = {
  op: "Squeeze",
  grad: squeezeGrad,
  since: 13,
  inputs: [{ name: "data" }, { name: "axes", optional: true }],
  outputs: [{ name: "squeezed" }],
  attrs: {},
  infer(ctx) {
    const x = input(ctx, "Squeeze", 0, "data");
    const a = ctx.inputs[1];
    if (!a) return [{ dtype: x.dtype, shape: x.shape.filter((d) => d !== 1) }];
    expectDtype("Squeeze", "axes", a, ["i64"]);
    expectRank("Squeeze", "axes", a, 1);
    const axes = constInts(ctx, 1);
    if (!axes) {
      const k = a.shape[0];
      if (typeof k !== "number") {
        throw new ShapeError(
          ...diag("DLM0231", "Squeeze", "constant axes or axes of known length", formatType(a)),
        );
      }
      return [{
        dtype: x.dtype,
        shape: Array.from({ length: x.shape.length - k }, () => freshDim("Squeeze")),
      }];
    }
    const set = new Set(normAxes("Squeeze", axes, x.shape.length));
    for (const i of set) {
      const d = x.shape[i];
      if (typeof d === "number" && d !== 1) {
        throw new ShapeError(
          ...diag(
            "DLM0232",
            "Squeeze",
            `remove dim ${i} of ${formatType(x)}: its size is ${d}, not 1`,
          ),
        );
      }
    }
    return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !set.has(i)) }];
  },
};

/** A reshape moves no values: the gradient is g reshaped back to the input's shape. */
function squeezeGrad(c: GradContext) {
  return [reshapeLike(c, c.outputGrads[0], c.node.inputs[0]).name, undefined];
}
