import assert from "node:assert/strict";
import { tensor, toNumbers } from "../../../compiler/ir/tensor.ts";
import { KernelError } from "../kernel.ts";
import { alongAxisOffsets } from "./along_axis_util.ts";
import { gatherElements } from "./gather_elements.ts";
import { scatterElements } from "./scatter_elements.ts";

const ctx = { opset: 17 } as Parameters<typeof gatherElements>[2];

Deno.test("alongAxisOffsets walks indices narrower than the data, negative ones from the end", () => {
  // data [3, 4]; indices [2, 3] along axis 1: offset = row * 4 + index.
  const idx = tensor("i64", [2, 3], [0, -1, 2, 3, 1, -4]);
  assert.deepEqual([...alongAxisOffsets([3, 4], idx, 1)], [0, 3, 2, 7, 5, 4]);
  // Along axis 0 of [3, 4]: offset = index * 4 + column.
  const i32 = tensor("i32", [2, 3], [2, 0, 1, -1, 1, 0]);
  assert.deepEqual([...alongAxisOffsets([3, 4], i32, 0)], [8, 1, 6, 8, 5, 2]);
});

Deno.test("alongAxisOffsets refuses an index out of range and indices larger than the data", () => {
  assert.throws(
    () => alongAxisOffsets([3, 4], tensor("i64", [1, 2], [1, 4]), 1),
    (e) => e instanceof KernelError && e.message === "Index 4 is out of range for size 4",
  );
  assert.throws(
    () => alongAxisOffsets([3, 4], tensor("i64", [1, 1], [-5]), 1),
    (e) => e instanceof KernelError && e.message === "Index -5 is out of range for size 4",
  );
  assert.throws(
    () => alongAxisOffsets([3, 4], tensor("i64", [4, 1], [0, 0, 0, 0]), 1),
    (e) => e instanceof KernelError && /do not fit data of shape \[3, 4\]/.test(e.message),
  );
  assert.throws(
    () => alongAxisOffsets([3, 4], tensor("i64", [4], [0, 0, 0, 0]), 1),
    (e) => e instanceof KernelError && /rank 2/.test(e.message),
  );
});

Deno.test("GatherElements and ScatterElements give torch.gather's and scatter_add's numbers", () => {
  const x = tensor("f32", [2, 3], [1, 2, 3, 4, 5, 6]);
  const idx = tensor("i64", [2, 2], [2, 0, 1, 1]);
  assert.deepEqual(toNumbers(gatherElements([x, idx], { axis: 1 }, ctx)[0]), [3, 1, 5, 5]);
  const upd = tensor("f32", [2, 2], [10, 20, 30, 40]);
  const add = scatterElements([x, idx, upd], { axis: 1, reduction: "add" }, ctx)[0];
  assert.deepEqual(toNumbers(add), [21, 2, 13, 4, 75, 6]);
  const put = scatterElements([x, tensor("i64", [1, 2], [2, 0]), tensor("f32", [1, 2], [7, 8])], {
    axis: 1,
  }, ctx)[0];
  assert.deepEqual(toNumbers(put), [8, 2, 7, 4, 5, 6]);
  // The input is not written through.
  assert.deepEqual(toNumbers(x), [1, 2, 3, 4, 5, 6]);
  // i64 data combine as bigints.
  const xi = tensor("i64", [1, 3], [1, 2, 3]);
  const ui = tensor("i64", [1, 2], [5, 6]);
  const yi =
    scatterElements([xi, tensor("i64", [1, 2], [0, 0]), ui], { axis: 1, reduction: "add" }, ctx)[0];
  assert.deepEqual(toNumbers(yi), [12, 2, 3]);
});
