import assert from "node:assert/strict";
import { runOp } from "../interpreter.ts";
import { tensor, toNumbers } from "../../../compiler/ir/tensor.ts";

// A = [[1, 2, 3], [4, 5, 6]] (2x3), B = [[1, 0], [0, 1], [1, 1]] (3x2); AB = [[4, 5], [10, 11]].
const A = tensor("f32", [2, 3], [1, 2, 3, 4, 5, 6]);
const B = tensor("f32", [3, 2], [1, 0, 0, 1, 1, 1]);
const At = tensor("f32", [3, 2], [1, 4, 2, 5, 3, 6]);
const Bt = tensor("f32", [2, 3], [1, 0, 1, 0, 1, 1]);

Deno.test("Gemm gives the same product for every combination of transA and transB", () => {
  for (
    const [a, b, transA, transB] of [[A, B, 0, 0], [At, B, 1, 0], [A, Bt, 0, 1], [
      At,
      Bt,
      1,
      1,
    ]] as const
  ) {
    const [y] = runOp("Gemm", [a, b], { transA, transB });
    assert.deepEqual(y.shape, [2, 2]);
    assert.deepEqual(toNumbers(y), [4, 5, 10, 11], `transA=${transA} transB=${transB}`);
  }
});

Deno.test("Gemm scales by alpha and beta and broadcasts C", () => {
  const rowC = tensor("f32", [2], [1, 2]);
  const [y] = runOp("Gemm", [A, B, rowC], { alpha: 2, beta: 10 });
  assert.deepEqual(toNumbers(y), [18, 30, 30, 42]);
  const colC = tensor("f32", [2, 1], [1, 2]);
  const [z] = runOp("Gemm", [A, B, colC]);
  assert.deepEqual(toNumbers(z), [5, 6, 12, 13]);
  const scalarC = tensor("f32", [], [100]);
  const [w] = runOp("Gemm", [A, B, scalarC], { beta: 0.5 });
  assert.deepEqual(toNumbers(w), [54, 55, 60, 61]);
});

Deno.test("Gemm rejects mismatched inner dimensions", () => {
  assert.throws(() => runOp("Gemm", [A, A]), /Gemm inner dims differ: A' is 2x3, B' is 2x3/);
});

Deno.test("MatMul promotes 1-D operands and broadcasts batch dims", () => {
  const v = tensor("f32", [3], [1, 1, 1]);
  const [mv] = runOp("MatMul", [A, v]);
  assert.deepEqual(mv.shape, [2]);
  assert.deepEqual(toNumbers(mv), [6, 15]);
  const [vm] = runOp("MatMul", [tensor("f32", [2], [1, 1]), A]);
  assert.deepEqual(toNumbers(vm), [5, 7, 9]);
  const batch = tensor("f32", [2, 1, 2, 3], [...toNumbers(A), ...toNumbers(A).map((x) => -x)]);
  const [bm] = runOp("MatMul", [
    batch,
    tensor("f32", [3, 3, 2], [
      ...toNumbers(B),
      ...toNumbers(B),
      ...toNumbers(B),
    ]),
  ]);
  assert.deepEqual(bm.shape, [2, 3, 2, 2]);
  assert.deepEqual(toNumbers(bm).slice(0, 4), [4, 5, 10, 11]);
  assert.deepEqual(toNumbers(bm).slice(12, 16), [-4, -5, -10, -11]);
});

Deno.test("MatMul of integers is exact", () => {
  const [y] = runOp("MatMul", [tensor("i32", [1, 2], [3, 4]), tensor("i32", [2, 1], [5, 6])]);
  assert.equal(y.dtype, "i32");
  assert.deepEqual(toNumbers(y), [39]);
});
