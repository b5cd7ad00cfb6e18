/**
 * Concat (opset 13): joins inputs of equal rank along `axis`; the other
 * dims must agree and the axis dim is the sum.
 */
import { type Dim, formatType } from "../ir/graph.ts";
import { type OpDef, ShapeError } from "./op_def.ts";
import { dimAdd, dimEquals } from "./dims.ts";
import { input, intAttr, normAxis, sameDtype } from "./rules.ts";
import type { GradContext } from "./op_def.ts";
import { reshapeLike } from "./grad_util.ts";
import { diag } from "../diagnostics.ts";

export const concatOp: OpDef = {
  op: "Concat",
  grad: concatGrad,
  since: 13,
  inputs: [{ name: "inputs", variadic: true }],
  outputs: [{ name: "concat_result" }],
  attrs: { axis: { type: "int", required: true } },
  infer(ctx) {
    if (ctx.inputs.length === 0) {
      throw new ShapeError(...diag("DLM0227", "Concat", "at least one input", "none"));
    }
    if (typeof ctx.attrs.axis !== "number") {
      throw new ShapeError(...diag("DLM0227", "Concat", "an 'axis' attribute", "none"));
    }
    const ts = ctx.inputs.map((_, i) => input(ctx, "Concat", i, `inputs[${i}]`));
    const dtype = sameDtype("Concat", ts.map((t, i) => [`inputs[${i}]`, t]));
    const first = ts[0];
    const rank = first.shape.length;
    const axis = normAxis("Concat", intAttr(ctx.attrs, "axis"), rank);
    const shape: Dim[] = [...first.shape];
    for (const t of ts.slice(1)) {
      if (t.shape.length !== rank) {
        throw new ShapeError(
          ...diag(
            "DLM0228",
            "Concat",
            "inputs of equal rank",
            `${formatType(first)} has ${rank} dims, ${formatType(t)} has ${t.shape.length}`,
          ),
        );
      }
      for (let d = 0; d < rank; d++) {
        if (d === axis) continue;
        const a = shape[d], b = t.shape[d];
        if (typeof a === "number" && typeof b === "number" && a !== b) {
          throw new ShapeError(
            ...diag(
              "DLM0228",
              `Concat along axis ${axis}`,
              "the other dims to agree",
              `dim ${d} is ${a} in ${formatType(first)} but ${b} in ${formatType(t)}`,
            ),
          );
        }
        if (!dimEquals(a, b) && typeof b === "number") shape[d] = b;
      }
      shape[axis] = dimAdd(shape[axis], t.shape[axis]);
    }
    return [{ dtype, shape }];
  },
};

/** The gradient is g split back into the inputs' extents along the axis. */
function concatGrad(c: GradContext) {
  const rank = c.outputTypes[0].shape.length;
  const a = c.node.attrs.axis as number;
  const axis = a < 0 ? a + rank : a;
  const dims = c.inputTypes.map((t) => t!.shape[axis]);
  if (dims.length === 1) return [c.outputGrads[0]];
  const e = c.e;
  const g = c.outputGrads[0];
  if (dims.every((d): d is number => typeof d === "number")) {
    return e.op("Split", [g, e.ints(dims)], { axis }, { nOutputs: dims.length }).map(String);
  }
  // A symbolic size along the axis (NT-Xent joins two views of N rows): the split sizes are
  // read at run time, and each part is reshaped to its input's type (N stays N).
  const sizes = c.node.inputs.map((x, i) =>
    typeof dims[i] === "number"
      ? e.ints([dims[i] as number])
      : e.v(x).op("Shape", [], { start: axis, end: axis + 1 })
  );
  const split = e.op1("Concat", sizes, { axis: 0 });
  const parts = e.op("Split", [g, split], { axis }, { nOutputs: dims.length });
  return parts.map((p, i) => reshapeLike(c, p, c.node.inputs[i]).name);
}
