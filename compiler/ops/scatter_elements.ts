/**
 * ScatterElements (opset 16): a copy of `data` with the elements of
 * `updates` written (or, per `reduction`, added / multiplied) at the
 * positions `indices` gives along `axis`. The output has data's type;
 * updates has the indices' shape, which fits in data's outside the axis.
 * Gradient rules use it to scatter-add (Gather, GatherElements, TopK,
 * MaxPool); the built-ins `scatter` and `scatter_add` emit it.
 */
import { formatType } from "../ir/graph.ts";
import { type GradContext, type OpDef, ShapeError } from "./op_def.ts";
import { expectDtype, INDEX, input, intAttr, normAxis, strAttr } from "./rules.ts";
import { GradLimit, zerosLike } from "./grad_util.ts";
import { diag } from "../diagnostics.ts";

export const scatterElementsOp: OpDef = {
  op: "ScatterElements",
  grad: scatterElementsGrad,
  since: 16,
  inputs: [{ name: "data" }, { name: "indices" }, { name: "updates" }],
  outputs: [{ name: "output" }],
  attrs: {
    axis: { type: "int", default: 0 },
    reduction: { type: "string", default: "none" },
  },
  infer(ctx) {
    const x = input(ctx, "ScatterElements", 0, "data");
    const idx = input(ctx, "ScatterElements", 1, "indices");
    const upd = input(ctx, "ScatterElements", 2, "updates");
    expectDtype("ScatterElements", "indices", idx, INDEX);
    if (
      idx.shape.length !== x.shape.length || upd.shape.length !== x.shape.length ||
      x.shape.length === 0
    ) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "ScatterElements",
          "data, indices and updates of one rank (>= 1)",
          `data ${formatType(x)}, indices ${formatType(idx)}, updates ${formatType(upd)}`,
        ),
      );
    }
    if (upd.dtype !== x.dtype) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "ScatterElements",
          `updates of data's dtype ${x.dtype}`,
          formatType(upd),
        ),
      );
    }
    const axis = normAxis("ScatterElements", intAttr(ctx.attrs, "axis"), x.shape.length);
    // Symbolic dims may differ by name and agree at run time (a gradient's fresh dims): only
    // two known sizes that differ are an error here.
    const u = upd.shape;
    if (idx.shape.some((d, k) => typeof d === "number" && typeof u[k] === "number" && d !== u[k])) {
      throw new ShapeError(
        ...diag(
          "DLM0228",
          "ScatterElements",
          "updates of the indices' shape",
          `indices ${formatType(idx)}, updates ${formatType(upd)}`,
        ),
      );
    }
    const over = idx.shape.findIndex((d, k) =>
      k !== axis && typeof d === "number" && typeof x.shape[k] === "number" && d > x.shape[k]
    );
    if (over >= 0) {
      throw new ShapeError(
        ...diag(
          "DLM0228",
          "ScatterElements",
          `indices no larger than data outside axis ${axis}`,
          `data ${formatType(x)}, indices ${formatType(idx)}`,
        ),
      );
    }
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
};

/**
 * With p(j) the position that index j names (its `axis` coordinate replaced by indices[j]):
 *
 *   reduction "none": y[q] = updates[j] where q = p(j), else data[q]
 *     dL/ddata = g with the written positions zeroed = ScatterElements(g, indices, 0)
 *     dL/dupdates[j] = g[p(j)] = GatherElements(g, indices)
 *   reduction "add": y[q] = data[q] + sum over j with p(j) = q of updates[j]
 *     dL/ddata = g,  dL/dupdates = GatherElements(g, indices)
 *
 * With repeated indices "none" keeps one of the writes (ONNX leaves which open, as torch does),
 * yet every update gets the gradient of its position. "mul", "max" and "min" have no rule yet.
 */
function scatterElementsGrad(c: GradContext) {
  const [, idx, upd] = c.node.inputs;
  const axis = (c.node.attrs.axis as number | undefined) ?? 0;
  const reduction = strAttr(c.node.attrs, "reduction", "none");
  if (reduction !== "none" && reduction !== "add") {
    throw new GradLimit(`ScatterElements with reduction "${reduction}" has no gradient rule yet`);
  }
  const g = c.e.v(c.outputGrads[0]);
  const dData = reduction === "add"
    ? g
    : g.op("ScatterElements", [idx, zerosLike(c, upd).name], { axis });
  const dUpd = g.op("GatherElements", [idx], { axis });
  return [dData.name, undefined, dUpd.name];
}
