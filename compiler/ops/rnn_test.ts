import assert from "node:assert/strict";
import type { AttrValue, Dim, TensorType } from "../ir/graph.ts";
import { getOp, withDefaults } from "./mod.ts";

const f32 = (...shape: Dim[]): TensorType => ({ dtype: "f32", shape });
const i32 = (...shape: Dim[]): TensorType => ({ dtype: "i32", shape });

/** Run a recurrent op's shape rule (no constant inputs). */
function inferRecurrent(
  op: string,
  inputs: (TensorType | undefined)[],
  attrs: Record<string, AttrValue> = {},
): TensorType[] {
  const def = getOp(op)!;
  return def.infer({
    inputs,
    attrs: withDefaults(def, attrs),
    constant: () => undefined,
  });
}

function rejects(fn: () => unknown, message: string) {
  assert.throws(fn, { name: "ShapeError", message });
}

Deno.test("RNN gives Y [T, dirs, N, H] and Y_h [dirs, N, H], keeping symbolic dims", () => {
  const out = inferRecurrent("RNN", [f32("T", "N", 3), f32(1, 5, 3), f32(1, 5, 5)], {
    hidden_size: 5,
  });
  assert.deepEqual(out, [f32("T", 1, "N", 5), f32(1, "N", 5)]);
});

Deno.test("RNN with layout 1 is batch-major in X, Y and the states", () => {
  const out = inferRecurrent(
    "RNN",
    [f32("N", "T", 3), f32(2, 5, 3), f32(2, 5, 5), f32(2, 10), i32("N"), f32("N", 2, 5)],
    { hidden_size: 5, layout: 1, direction: "bidirectional" },
  );
  assert.deepEqual(out, [f32("N", "T", 2, 5), f32("N", 2, 5)]);
});

Deno.test("RNN takes the hidden size from R when hidden_size is absent", () => {
  const out = inferRecurrent("RNN", [f32(4, 2, 3), f32(1, 6, 3), f32(1, 6, 6)]);
  assert.deepEqual(out, [f32(4, 1, 2, 6), f32(1, 2, 6)]);
});

Deno.test("RNN rejects weights, biases and states of the wrong shape", () => {
  const x = f32("T", "N", 3);
  const a = { hidden_size: 5 };
  rejects(
    () => inferRecurrent("RNN", [x, f32(1, 5, 4), f32(1, 5, 5)], a),
    "RNN expects 'W' of shape [1, 5, 3], found f32[1, 5, 4]",
  );
  rejects(
    () =>
      inferRecurrent("RNN", [x, f32(1, 5, 3), f32(1, 5, 5)], { ...a, direction: "bidirectional" }),
    "RNN expects 'W' of shape [2, 5, 3], found f32[1, 5, 3]",
  );
  rejects(
    () => inferRecurrent("RNN", [x, f32(1, 5, 3), f32(1, 5, 5), f32(1, 5)], a),
    "RNN expects 'B' of shape [1, 10], found f32[1, 5]",
  );
  rejects(
    () => inferRecurrent("RNN", [x, f32(1, 5, 3), f32(1, 5, 5), undefined, i32(3, 1)], a),
    "RNN expects 'sequence_lens' of shape [N], found i32[3, 1]",
  );
  rejects(
    () =>
      inferRecurrent(
        "RNN",
        [x, f32(1, 5, 3), f32(1, 5, 5), undefined, undefined, f32(1, "N", 4)],
        a,
      ),
    "RNN expects 'initial_h' of shape [1, N, 5], found f32[1, N, 4]",
  );
});

Deno.test("RNN rejects a bad input, direction or layout", () => {
  const w = [f32(1, 5, 3), f32(1, 5, 5)];
  rejects(
    () => inferRecurrent("RNN", [f32("N", 3), ...w], { hidden_size: 5 }),
    "RNN expects 'X' to have 3 dims, found f32[N, 3]",
  );
  rejects(
    () => inferRecurrent("RNN", [{ dtype: "i64", shape: [2, 2, 3] }, ...w], { hidden_size: 5 }),
    "RNN expects 'X' to be a float tensor (f16, f32, f64), found i64[2, 2, 3]",
  );
  rejects(
    () => inferRecurrent("RNN", [f32(2, 2, 3), ...w], { hidden_size: 5, direction: "both" }),
    'RNN expects direction "forward", "reverse" or "bidirectional", found "both"',
  );
  rejects(
    () => inferRecurrent("RNN", [f32(2, 2, 3), ...w], { hidden_size: 5, layout: 2 }),
    "RNN expects layout 0 or 1, found 2",
  );
  rejects(
    () => inferRecurrent("RNN", [f32(2, 2, 3), ...w], { hidden_size: 0 }),
    "RNN expects a positive hidden_size, found 0",
  );
  rejects(
    () =>
      inferRecurrent("RNN", [f32(2, 2, 3), ...w, { dtype: "f64", shape: [1, 10] }], {
        hidden_size: 5,
      }),
    "RNN expects 'B' to have the same element type as 'X': found f64[1, 10] and f32[2, 2, 3]",
  );
});
