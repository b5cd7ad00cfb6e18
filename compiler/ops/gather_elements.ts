/**
 * GatherElements (opset 13): the output has the shape of `indices`, which
 * has the rank of `data`.
 */
import { formatType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { expectDtype, INDEX, input, intAttr, normAxis } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { zerosLike } from "./grad_util.ts";
import { diag } from "../diagnostics.ts";

export const gatherElementsOp: OpDef = {
  op: "GatherElements",
  grad: gatherElementsGrad,
  since: 13,
  inputs: [{ name: "data" }, { name: "indices" }],
  outputs: [{ name: "output" }],
  attrs: { axis: { type: "int", default: 0 } },
  infer(ctx) {
    const x = input(ctx, "GatherElements", 0, "data");
    const idx = input(ctx, "GatherElements", 1, "indices");
    expectDtype("GatherElements", "indices", idx, INDEX);
    if (idx.shape.length !== x.shape.length || x.shape.length === 0) {
      throw new ShapeError(
        ...diag(
          "DLM0228",
          "GatherElements",
          "indices of the same rank (>= 1) as data",
          `data ${formatType(x)}, indices ${formatType(idx)}`,
        ),
      );
    }
    normAxis("GatherElements", intAttr(ctx.attrs, "axis"), x.shape.length);
    return [{ dtype: x.dtype, shape: [...idx.shape] }];
  },
};

/** The adjoint of a gather is a scatter-add of g into zeros at the same indices. */
function gatherElementsGrad(c: GradContext) {
  const [x, idx] = c.node.inputs;
  const axis = (c.node.attrs.axis as number | undefined) ?? 0;
  return [
    zerosLike(c, x).op("ScatterElements", [idx, c.outputGrads[0]], { axis, reduction: "add" }).name,
    undefined,
  ];
}
