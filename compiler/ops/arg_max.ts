/**
 * ArgMax (opset 13): indices (i64) of the largest values along `axis`; the
 * axis is kept as size 1 (keepdims = 1) or removed.
 */
import type { OpDef } from "./op_def.ts";
import { expectDtype, input, intAttr, normAxis, NUMERIC } from "./rules.ts";

export const argMaxOp: OpDef = {
  op: "ArgMax",
  differentiable: false,
  since: 13,
  inputs: [{ name: "data" }],
  outputs: [{ name: "reduced" }],
  attrs: {
    axis: { type: "int", default: 0 },
    keepdims: { type: "int", default: 1 },
    select_last_index: { type: "int", default: 0 },
  },
  infer(ctx) {
    const x = input(ctx, "ArgMax", 0, "data");
    expectDtype("ArgMax", "data", x, NUMERIC);
    const axis = normAxis("ArgMax", intAttr(ctx.attrs, "axis"), x.shape.length);
    const shape = [...x.shape];
    if (intAttr(ctx.attrs, "keepdims", 1) === 1) shape[axis] = 1;
    else shape.splice(axis, 1);
    return [{ dtype: "i64", shape }];
  },
};
