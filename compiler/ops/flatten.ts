/**
 * Flatten (opset 13): (d0, ..., dn-1) -> (d0 * ... * d(axis-1), d(axis) * ... * dn-1),
 * with axis in [-rank, rank].
 */
import { type OpDef, ShapeError } from "./op_def.ts";
import { dimProduct } from "./dims.ts";
import { input, intAttr } from "./rules.ts";
import { formatType } from "../ir/graph.ts";
import type { GradContext } from "./op_def.ts";
import { reshapeLike } from "./grad_util.ts";
import { diag } from "../diagnostics.ts";

export const flattenOp: OpDef = {
  op: "Flatten",
  grad: flattenGrad,
  since: 13,
  inputs: [{ name: "input" }],
  outputs: [{ name: "output" }],
  attrs: { axis: { type: "int", default: 1 } },
  infer(ctx) {
    const x = input(ctx, "Flatten", 0, "input");
    const r = x.shape.length;
    let axis = intAttr(ctx.attrs, "axis", 1);
    if (axis < -r || axis > r) {
      throw new ShapeError(
        ...diag("DLM0227", "Flatten", `axis in [${-r}, ${r}] for ${formatType(x)}`, axis),
      );
    }
    if (axis < 0) axis += r;
    return [{
      dtype: x.dtype,
      shape: [dimProduct(x.shape.slice(0, axis)), dimProduct(x.shape.slice(axis))],
    }];
  },
};

/** A reshape moves no values: the gradient is g reshaped back to the input's shape. */
function flattenGrad(c: GradContext) {
  return [reshapeLike(c, c.outputGrads[0], c.node.inputs[0]).name, undefined];
}
