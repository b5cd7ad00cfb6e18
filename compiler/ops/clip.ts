/**
 * Clip (opset 13): clamps to [min, max]; min and max are optional scalars
 * of the input's type. Same shape as the input.
 */
import { formatType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./registry.ts";
import { expectDtype, input, NUMERIC, sameDtype } from "./rules.ts";
import type { GradContext } from "./registry.ts";
import { maskMul, op1 } from "./grad_util.ts";

export const clipOp: OpDef = {
  op: "Clip",
  grad: clipGrad,
  since: 13,
  inputs: [{ name: "input" }, { name: "min", optional: true }, { name: "max", optional: true }],
  outputs: [{ name: "output" }],
  attrs: {},
  infer(ctx) {
    const x = input(ctx, "Clip", 0, "input");
    expectDtype("Clip", "input", x, NUMERIC);
    sameDtype("Clip", [["input", x], ["min", ctx.inputs[1]], ["max", ctx.inputs[2]]]);
    for (const [i, port] of [[1, "min"], [2, "max"]] as const) {
      const t = ctx.inputs[i];
      if (t && !(t.shape.length === 0 || (t.shape.length === 1 && t.shape[0] === 1))) {
        throw new ShapeError(`Clip expects '${port}' to be a scalar, found ${formatType(t)}`);
      }
    }
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
};

/** The gradient passes where min <= x <= max (the bounds themselves get none). */
function clipGrad(c: GradContext) {
  const [x, lo, hi] = c.node.inputs;
  const conds: string[] = [];
  if (lo) conds.push(op1(c, "GreaterOrEqual", [x, lo]));
  if (hi) conds.push(op1(c, "LessOrEqual", [x, hi]));
  if (conds.length === 0) return [c.outputGrads[0]];
  const cond = conds.length === 2 ? op1(c, "And", conds) : conds[0];
  return [maskMul(c, cond, c.outputGrads[0]), undefined, undefined];
}
