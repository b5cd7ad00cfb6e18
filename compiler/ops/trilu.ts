/**
 * Trilu (opset 14): keeps the upper (or lower) triangle of the last two
 * dims, offset by the optional scalar `k`; same shape as the input.
 */
import { formatType } from "../ir/graph.ts";
import { type GradContext, type OpDef, ShapeError } from "./op_def.ts";
import { gradOf } from "./grad_util.ts";
import { expectDtype, expectRank, input } from "./rules.ts";
import { diag } from "../diagnostics.ts";

export const triluOp: OpDef = {
  op: "Trilu",
  grad: triluGrad,
  since: 14,
  inputs: [{ name: "input" }, { name: "k", optional: true }],
  outputs: [{ name: "output" }],
  attrs: { upper: { type: "int", default: 1 } },
  infer(ctx) {
    const x = input(ctx, "Trilu", 0, "input");
    expectRank("Trilu", "input", x, 2, true);
    const k = ctx.inputs[1];
    if (k) {
      expectDtype("Trilu", "k", k, ["i64"]);
      if (!(k.shape.length === 0 || (k.shape.length === 1 && k.shape[0] === 1))) {
        throw new ShapeError(...diag("DLM0227", "Trilu", "'k' to be a scalar", formatType(k)));
      }
    }
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
};

/** Trilu multiplies by a constant 0/1 mask, so dx is g through the same mask. */
function triluGrad(c: GradContext) {
  const [, k] = c.node.inputs;
  const upper = (c.node.attrs.upper as number | undefined) ?? 1;
  return [gradOf(c, 0).op("Trilu", k ? [k] : [], { upper }).name, undefined];
}
