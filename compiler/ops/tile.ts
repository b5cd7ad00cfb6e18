/**
 * Tile (opset 13): out[i] = in[i] * repeats[i], `repeats` a constant i64
 * input with one entry per input dim.
 */
import { formatType } from "../ir/graph.ts";
import { type GradContext, type OpDef, ShapeError } from "./op_def.ts";
import { gradOf, needStatic } from "./grad_util.ts";
import { toNumbers } from "../ir/tensor.ts";
import { dimMul } from "./dims.ts";
import { constInts, expectDtype, expectRank, freshDim, input } from "./rules.ts";
import { diag } from "../diagnostics.ts";

export const tileOp: OpDef = {
  op: "Tile",
  grad: tileGrad,
  since: 13,
  inputs: [{ name: "input" }, { name: "repeats" }],
  outputs: [{ name: "output" }],
  attrs: {},
  infer(ctx) {
    const x = input(ctx, "Tile", 0, "input");
    const r = input(ctx, "Tile", 1, "repeats");
    expectDtype("Tile", "repeats", r, ["i64"]);
    expectRank("Tile", "repeats", r, 1);
    const reps = constInts(ctx, 1);
    if (!reps) {
      return [{ dtype: x.dtype, shape: x.shape.map((d) => (d === 0 ? 0 : freshDim("Tile"))) }];
    }
    if (reps.length !== x.shape.length || reps.some((v) => v < 0)) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          "Tile",
          `${x.shape.length} non-negative repeats for ${formatType(x)}`,
          `[${reps.join(", ")}]`,
        ),
      );
    }
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => dimMul(d, reps[i])) }];
  },
};

/**
 * y[r_0 d_0 + i_0, ...] = x[i_0, ...] for every repeat r: viewing g as
 * [r_0, d_0, r_1, d_1, ...], dx is its sum over the repeat axes 0, 2, 4, ...
 */
function tileGrad(c: GradContext) {
  const xt = c.inputTypes[0]!;
  const repsValue = c.constantOf(c.node.inputs[1]);
  if (!repsValue) throw new Error("Tile needs constant repeats");
  const reps = toNumbers(repsValue);
  const dims = xt.shape.map((d, i) => needStatic(d, "Tile", `input dim ${i}`));
  const split = dims.flatMap((d, i) => [reps[i], d]);
  const g = gradOf(c, 0).reshape(split);
  const axes = dims.map((_, i) => 2 * i);
  if (axes.length === 0) return [g.name, undefined];
  return [g.sum(axes, false).name, undefined];
}
