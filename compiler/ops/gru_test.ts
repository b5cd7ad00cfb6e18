import assert from "node:assert/strict";
import type { AttrValue, Dim, TensorType } from "../ir/graph.ts";
import { getOp, withDefaults } from "./mod.ts";

const f32 = (...shape: Dim[]): TensorType => ({ dtype: "f32", shape });

/** Run a recurrent op's shape rule (no constant inputs). */
function inferRecurrent(
  op: string,
  inputs: (TensorType | undefined)[],
  attrs: Record<string, AttrValue> = {},
): TensorType[] {
  const def = getOp(op)!;
  return def.infer({ inputs, attrs: withDefaults(def, attrs), constant: () => undefined });
}

Deno.test("GRU gives Y and Y_h, with 3 gates in W, R and B", () => {
  const out = inferRecurrent(
    "GRU",
    [f32("N", "T", 3), f32(1, 12, 3), f32(1, 12, 4), f32(1, 24)],
    { hidden_size: 4, layout: 1, linear_before_reset: 1 },
  );
  assert.deepEqual(out, [f32("N", "T", 1, 4), f32("N", 1, 4)]);
});

Deno.test("GRU rejects a recurrence weight of another hidden size", () => {
  assert.throws(
    () => inferRecurrent("GRU", [f32(4, 2, 3), f32(1, 12, 3), f32(1, 12, 3)], { hidden_size: 4 }),
    { name: "ShapeError", message: "GRU expects 'R' of shape [1, 12, 4], found f32[1, 12, 3]" },
  );
});
