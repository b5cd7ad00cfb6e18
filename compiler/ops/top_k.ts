/**
 * TopK (opset 11): the k largest (or smallest) elements along `axis` and
 * their i64 indices; both outputs have the input's shape with dim `axis`
 * replaced by k (the one-element i64 input K).
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

export const topKOp: OpDef = {
  op: "TopK",
  noGradYet: "no rule yet",
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
