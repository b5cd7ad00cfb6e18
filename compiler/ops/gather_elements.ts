/**
 * GatherElements (opset 13): out[i][j][k] = data[indices[i][j][k]][j][k] for
 * axis 0 (likewise other axes), torch.gather's meaning. The output has the
 * shape of `indices`, which has the rank of `data` and fits in it outside
 * the axis (onnxruntime refuses larger indices). The built-in
 * `take_along_axis` emits it.
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
    const axis = normAxis("GatherElements", intAttr(ctx.attrs, "axis"), x.shape.length);
    const over = idx.shape.findIndex((d, k) =>
      k !== axis && typeof d === "number" && typeof x.shape[k] === "number" && d > x.shape[k]
    );
    if (over >= 0) {
      throw new ShapeError(
        ...diag(
          "DLM0228",
          "GatherElements",
          `indices no larger than data outside axis ${axis}`,
          `data ${formatType(x)}, indices ${formatType(idx)}`,
        ),
      );
    }
    return [{ dtype: x.dtype, shape: [...idx.shape] }];
  },
};

/**
 * out[j] = data[p(j)] with p(j) the position index j names, so
 * dL/ddata[q] = sum over j with p(j) = q of g[j]: a scatter-add of g into
 * zeros at the same indices (a position gathered twice gets both).
 */
function gatherElementsGrad(c: GradContext) {
  const [x, idx] = c.node.inputs;
  const axis = (c.node.attrs.axis as number | undefined) ?? 0;
  return [
    zerosLike(c, x).op("ScatterElements", [idx, c.outputGrads[0]], { axis, reduction: "add" }).name,
    undefined,
  ];
}
