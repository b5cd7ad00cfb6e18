/**
 * PRelu (opset 16): Y = X if X >= 0 else slope * X, with `slope`
 * broadcasting to X (unidirectionally: the output has X's shape).
 */
import { formatType } from "../ir/graph.ts";
import type { DType } from "../ir/tensor.ts";
import { type GradContext, type OpDef, ShapeError } from "./op_def.ts";
import { gradOf, inputOf } from "./grad_util.ts";
import { broadcastShapes, dimEquals } from "./dims.ts";
import { expectDtype, FLOAT, input, sameDtype } from "./rules.ts";
import { diag } from "../diagnostics.ts";

const PRELU_TYPES: readonly DType[] = [...FLOAT, "u32", "u64", "i32", "i64"];

export const pReluOp: OpDef = {
  op: "PRelu",
  grad: pReluGrad,
  since: 16,
  inputs: [{ name: "X" }, { name: "slope" }],
  outputs: [{ name: "Y" }],
  attrs: {},
  infer(ctx) {
    const x = input(ctx, "PRelu", 0, "X");
    const slope = input(ctx, "PRelu", 1, "slope");
    expectDtype("PRelu", "X", x, PRELU_TYPES);
    sameDtype("PRelu", [["X", x], ["slope", slope]]);
    const out = broadcastShapes(x.shape, slope.shape, [formatType(x), formatType(slope)]);
    if (
      out.length !== x.shape.length ||
      out.some((d, i) => !dimEquals(d, x.shape[i]) && typeof x.shape[i] === "number")
    ) {
      throw new ShapeError(
        ...diag("DLM0227", "PRelu", `slope to broadcast to ${formatType(x)}`, formatType(slope)),
      );
    }
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
};

/**
 * y = x for x > 0, slope x otherwise: dx = g or g slope, and
 * dslope = g x where x <= 0, summed back to the slope's shape.
 */
function pReluGrad(c: GradContext) {
  const x = inputOf(c, 0), slope = c.node.inputs[1];
  const g = gradOf(c, 0);
  const zero = c.e.scalar(0, x.dtype);
  const pos = x.greater(zero);
  const dx = pos.where(g, g.mul(slope));
  const dSlope = pos.where(zero, g.mul(x));
  return [dx.name, c.unbroadcast(dSlope.name, c.inputTypes[1]!)];
}
