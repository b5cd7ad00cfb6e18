import assert from "node:assert/strict";
import { runOp } from "../interpreter.ts";
import { tensor, toNumbers } from "../../../compiler/ir/tensor.ts";

const x = tensor("f32", [10], Array.from({ length: 10 }, (_, i) => i));
const i64 = (...v: number[]) => tensor("i64", [v.length], v);

Deno.test("Slice clamps out-of-range bounds and counts negative ones from the end", () => {
  assert.deepEqual(toNumbers(runOp("Slice", [x, i64(-3), i64(1000)])[0]), [7, 8, 9]);
  assert.deepEqual(toNumbers(runOp("Slice", [x, i64(-1000), i64(2)])[0]), [0, 1]);
});

Deno.test("Slice with a negative step walks backwards from start to end (exclusive)", () => {
  const [y] = runOp("Slice", [x, i64(8), i64(2), i64(0), i64(-3)]);
  assert.deepEqual(toNumbers(y), [8, 5]);
  // INT64_MIN-like end means "through index 0".
  const [z] = runOp("Slice", [x, i64(-1), i64(-1e18), i64(0), i64(-1)]);
  assert.deepEqual(toNumbers(z), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
});

Deno.test("Slice reads attributes before opset 10", () => {
  const [y] = runOp("Slice", [x], { starts: [2], ends: [5], axes: [0] }, { opset: 9 });
  assert.deepEqual(toNumbers(y), [2, 3, 4]);
});

Deno.test("Slice on several axes with steps picks a strided sub-block", () => {
  const m = tensor("f32", [3, 4], Array.from({ length: 12 }, (_, i) => i));
  const [y] = runOp("Slice", [m, i64(0, 1), i64(3, 4), i64(0, 1), i64(2, 2)]);
  assert.deepEqual(y.shape, [2, 2]);
  assert.deepEqual(toNumbers(y), [1, 3, 9, 11]);
});
