/**
 * Where (opset 16): picks X where `condition` is true, else Y; the three
 * inputs broadcast together (numpy rules).
 */
import type { OpDef } from "./op_def.ts";
import { broadcastTypes, expectDtype, input, sameDtype } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { gradOf, maskGrad } from "./grad_util.ts";

export const whereOp: OpDef = {
  op: "Where",
  grad: whereGrad,
  since: 16,
  inputs: [{ name: "condition" }, { name: "X" }, { name: "Y" }],
  outputs: [{ name: "output" }],
  attrs: {},
  infer(ctx) {
    const c = input(ctx, "Where", 0, "condition");
    const x = input(ctx, "Where", 1, "X");
    const y = input(ctx, "Where", 2, "Y");
    expectDtype("Where", "condition", c, ["bool"]);
    const dtype = sameDtype("Where", [["X", x], ["Y", y]]);
    return [{ dtype, shape: broadcastTypes([c, x, y]) }];
  },
};

/** The gradient goes to X where the condition holds, to Y elsewhere; the condition has none. */
function whereGrad(c: GradContext) {
  const [cond] = c.node.inputs;
  const e = c.e;
  const g = gradOf(c, 0);
  const zero = e.scalar(0, g.dtype);
  return [
    undefined,
    c.unbroadcast(maskGrad(c, cond, g).name, c.inputTypes[1]!),
    c.unbroadcast(e.where(cond, zero, g).name, c.inputTypes[2]!),
  ];
}
