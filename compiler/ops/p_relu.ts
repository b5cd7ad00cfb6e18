/**
 * PRelu (opset 16): Y = X if X >= 0 else slope * X, with `slope`
 * broadcasting to X (unidirectionally: the output has X's shape).
 */
import { formatType } from "../ir/graph.ts";
import type { DType } from "../ir/tensor.ts";
import { register, ShapeError } from "./registry.ts";
import { broadcastShapes, dimEquals } from "./dims.ts";
import { expectDtype, FLOAT, input, sameDtype } from "./rules.ts";

const PRELU_TYPES: readonly DType[] = [...FLOAT, "u32", "u64", "i32", "i64"];

register({
  op: "PRelu",
  since: 16,
  inputs: [{ name: "X" }, { name: "slope" }],
  outputs: [{ name: "Y" }],
  attrs: {},
  infer(ctx) {
    const x = input(ctx, "PRelu", 0, "X");
    const slope = input(ctx, "PRelu", 1, "slope");
    expectDtype("PRelu", "X", x, PRELU_TYPES);
    sameDtype("PRelu", [["X", x], ["slope", slope]]);
    const out = broadcastShapes(x.shape, slope.shape, [formatType(x), formatType(slope)]);
    if (
      out.length !== x.shape.length ||
      out.some((d, i) => !dimEquals(d, x.shape[i]) && typeof x.shape[i] === "number")
    ) {
      throw new ShapeError(
        `PRelu expects slope to broadcast to ${formatType(x)}, found ${formatType(slope)}`,
      );
    }
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
});
