/**
 * Tile (opset 13): out[i] = in[i] * repeats[i], `repeats` a constant i64
 * input with one entry per input dim.
 */
import { formatType } from "../ir/graph.ts";
import { register, ShapeError } from "./registry.ts";
import { dimMul } from "./dims.ts";
import { constInts, expectDtype, expectRank, freshDim, input } from "./rules.ts";

register({
  op: "Tile",
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
        `Tile expects ${x.shape.length} non-negative repeats for ${formatType(x)}, found [${
          reps.join(", ")
        }]`,
      );
    }
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => dimMul(d, reps[i])) }];
  },
});
