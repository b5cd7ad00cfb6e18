import assert from "node:assert/strict";
import { runOp } from "../interpreter.ts";
import { tensor, toNumbers } from "../../../compiler/ir/tensor.ts";

// 1x1x4x4 image holding 0..15 row-major.
const x = tensor("f32", [1, 1, 4, 4], Array.from({ length: 16 }, (_, i) => i));

Deno.test("MaxPool with ceil_mode keeps the partial last window", () => {
  const [floor] = runOp("MaxPool", [x], { kernel_shape: [3, 3], strides: [2, 2] });
  assert.deepEqual(floor.shape, [1, 1, 1, 1]);
  const [ceil] = runOp("MaxPool", [x], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 });
  assert.deepEqual(ceil.shape, [1, 1, 2, 2]);
  assert.deepEqual(toNumbers(ceil), [10, 11, 14, 15]);
});

Deno.test("MaxPool with ceil_mode drops a window that would start in the right padding", () => {
  // in 4, pads 1+1, k 2, s 3: ceil((4 + 2 - 2) / 3) + 1 = 3 windows, but the third
  // would start at 5, past the input and its left pad, so only 2 remain.
  const x1 = tensor("f32", [1, 1, 4], [1, 2, 3, 4]);
  const [y] = runOp("MaxPool", [x1], {
    kernel_shape: [2],
    strides: [3],
    pads: [1, 1],
    ceil_mode: 1,
  });
  assert.deepEqual(toNumbers(y), [1, 4]);
});

Deno.test("MaxPool returns flat indices, row-major or column-major by storage_order", () => {
  const attrs = { kernel_shape: [2, 2], strides: [2, 2] };
  const [y, rowIdx] = runOp("MaxPool", [x], attrs, { outputs: 2 });
  assert.deepEqual(toNumbers(y), [5, 7, 13, 15]);
  assert.deepEqual(toNumbers(rowIdx), [5, 7, 13, 15]);
  const [, colIdx] = runOp("MaxPool", [x], { ...attrs, storage_order: 1 }, { outputs: 2 });
  // (h, w) = (1, 1), (1, 3), (3, 1), (3, 3) column-major: w * 4 + h.
  assert.deepEqual(toNumbers(colIdx), [5, 13, 7, 15]);
});

Deno.test("MaxPool indices include the batch and channel offset", () => {
  const x2 = tensor("f32", [1, 2, 2, 2], [1, 2, 3, 4, 8, 7, 6, 5]);
  const [, idx] = runOp("MaxPool", [x2], { kernel_shape: [2, 2] }, { outputs: 2 });
  assert.deepEqual(toNumbers(idx), [3, 4]);
});

Deno.test("MaxPool honours dilations and never picks padding", () => {
  const neg = tensor("f32", [1, 1, 3, 3], [-9, -8, -7, -6, -5, -4, -3, -2, -1]);
  const [y] = runOp("MaxPool", [neg], {
    kernel_shape: [2, 2],
    dilations: [2, 2],
    pads: [1, 1, 1, 1],
  });
  assert.deepEqual(y.shape, [1, 1, 3, 3]);
  assert.deepEqual(toNumbers(y), [-5, -4, -5, -2, -1, -2, -5, -4, -5]);
});

Deno.test("AveragePool divides by the window inside the input unless count_include_pad", () => {
  const attrs = { kernel_shape: [3, 3], pads: [1, 1, 1, 1] };
  const [excl] = runOp("AveragePool", [x], attrs);
  // Top-left window covers 0, 1, 4, 5.
  assert.equal(toNumbers(excl)[0], 2.5);
  const [incl] = runOp("AveragePool", [x], { ...attrs, count_include_pad: 1 });
  assert.equal(toNumbers(incl)[0], Math.fround(10 / 9));
});

Deno.test("AveragePool with ceil_mode does not count positions past the padding", () => {
  const x1 = tensor("f32", [1, 1, 5], [1, 2, 3, 4, 5]);
  const [y] = runOp("AveragePool", [x1], {
    kernel_shape: [2],
    strides: [2],
    ceil_mode: 1,
    count_include_pad: 1,
  });
  // Windows [1, 2], [3, 4], [5]: the last one is cut by the end of the input.
  assert.deepEqual(toNumbers(y), [1.5, 3.5, 5]);
});

Deno.test("GlobalAveragePool and GlobalMaxPool keep the rank with 1-sized spatial dims", () => {
  const [avg] = runOp("GlobalAveragePool", [x]);
  assert.deepEqual(avg.shape, [1, 1, 1, 1]);
  assert.deepEqual(toNumbers(avg), [7.5]);
  const [mx] = runOp("GlobalMaxPool", [x]);
  assert.deepEqual(toNumbers(mx), [15]);
});
