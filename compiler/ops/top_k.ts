/**
 * TopK (opset 11): the k largest (or smallest) elements along `axis` and
 * their i64 indices; both outputs have the input's shape with dim `axis`
 * replaced by k (the one-element i64 input K). Equal values come in the
 * order of their indices, the lower first (ONNX's tie rule, which
 * onnxruntime and the reference kernel follow), for largest and smallest
 * alike: a full-length TopK is a stable sort. The built-ins `topk`, `sort`
 * and `argsort` (check/builtins/sorting.ts) emit it.
 */
import { formatType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import {
  constInts,
  expectDtype,
  FLOAT_NO_BF16,
  freshDim,
  input,
  INT,
  intAttr,
  normAxis,
} from "./rules.ts";
import { diag } from "../diagnostics.ts";
import type { GradContext } from "./op_def.ts";
import { zerosLike } from "./grad_util.ts";

export const topKOp: OpDef = {
  op: "TopK",
  grad: topKGrad,
  since: 11,
  inputs: [{ name: "X" }, { name: "K" }],
  outputs: [{ name: "Values" }, { name: "Indices" }],
  attrs: {
    axis: { type: "int", default: -1 },
    largest: { type: "int", default: 1 },
    sorted: { type: "int", default: 1 },
  },
  infer(ctx) {
    const x = input(ctx, "TopK", 0, "X");
    const k = input(ctx, "TopK", 1, "K");
    expectDtype("TopK", "X", x, [...INT, ...FLOAT_NO_BF16]);
    expectDtype("TopK", "K", k, ["i64"]);
    if (!(k.shape.length === 1 && k.shape[0] === 1) && k.shape.length !== 0) {
      throw new ShapeError(...diag("DLM0227", "TopK", "'K' to hold one value", formatType(k)));
    }
    const axis = normAxis("TopK", intAttr(ctx.attrs, "axis", -1), x.shape.length);
    const kv = constInts(ctx, 1)?.[0];
    const d = x.shape[axis];
    if (kv !== undefined && (kv < 0 || (typeof d === "number" && kv > d))) {
      throw new ShapeError(
        ...diag("DLM0227", "TopK", `K in [0, ${d}] for axis ${axis} of ${formatType(x)}`, kv),
      );
    }
    const shape = [...x.shape];
    shape[axis] = kv ?? freshDim("TopK");
    return [{ dtype: x.dtype, shape }, { dtype: "i64", shape: [...shape] }];
  },
};

/**
 * Values = GatherElements(X, Indices, axis): each value is the element of X
 * its index names, so dL/dX is the adjoint of that gather, a scatter-add of
 * dL/dValues into zeros at Indices (elements not selected get 0). The
 * indices of one row are distinct, so adding and writing agree; "add" is
 * the gather's adjoint in general. The indices carry no gradient.
 */
function topKGrad(c: GradContext) {
  const x = c.node.inputs[0];
  const axis = (c.node.attrs.axis as number | undefined) ?? -1;
  const g = c.outputGrads[0];
  if (!g) return [undefined, undefined];
  return [
    zerosLike(c, x).op("ScatterElements", [c.node.outputs[1], g], { axis, reduction: "add" }).name,
    undefined,
  ];
}
