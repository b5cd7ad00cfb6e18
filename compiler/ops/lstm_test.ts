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

Deno.test("LSTM gives Y, Y_h and Y_c, with 4 gates in W, R and B", () => {
  const out = inferRecurrent(
    "LSTM",
    [f32("T", "N", 3), f32(2, 20, 3), f32(2, 20, 5), f32(2, 40)],
    { hidden_size: 5, direction: "bidirectional" },
  );
  assert.deepEqual(out, [f32("T", 2, "N", 5), f32(2, "N", 5), f32(2, "N", 5)]);
});

Deno.test("LSTM checks initial_c and the peepholes P", () => {
  const base = [f32(4, 2, 3), f32(1, 20, 3), f32(1, 20, 5), undefined, undefined, undefined];
  assert.throws(
    () => inferRecurrent("LSTM", [...base, f32(1, 3, 5)], { hidden_size: 5 }),
    {
      name: "ShapeError",
      message: "LSTM expects 'initial_c' of shape [1, 2, 5], found f32[1, 3, 5]",
    },
  );
  assert.throws(
    () => inferRecurrent("LSTM", [...base, undefined, f32(1, 20)], { hidden_size: 5 }),
    { name: "ShapeError", message: "LSTM expects 'P' of shape [1, 15], found f32[1, 20]" },
  );
  assert.throws(
    () => inferRecurrent("LSTM", [f32(4, 2, 3), f32(1, 15, 3), f32(1, 15, 5)], { hidden_size: 5 }),
    { name: "ShapeError", message: "LSTM expects 'W' of shape [1, 20, 3], found f32[1, 15, 3]" },
  );
});
