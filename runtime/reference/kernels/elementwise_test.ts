import assert from "node:assert/strict";
import { runOp } from "../interpreter.ts";
import { type Tensor, tensor, toNumbers } from "../../../compiler/ir/tensor.ts";
import { erf } from "./erf.ts";
import { roundHalfEven } from "./round.ts";

Deno.test("Add broadcasts numpy-style in both directions", () => {
  const a = tensor("f32", [2, 1], [1, 2]), b = tensor("f32", [3], [10, 20, 30]);
  const [y] = runOp("Add", [a, b]);
  assert.deepEqual(y.shape, [2, 3]);
  assert.deepEqual(toNumbers(y), [11, 21, 31, 12, 22, 32]);
});

Deno.test("Add rejects shapes that cannot broadcast", () => {
  assert.throws(
    () => runOp("Add", [tensor("f32", [2, 3], new Array(6).fill(0)), tensor("f32", [2], [0, 0])]),
    /Cannot broadcast shapes \[2, 3\] and \[2\]/,
  );
});

Deno.test("Add and Mul of i64 are exact beyond 2^53", () => {
  const big = tensor("i64", [1], [0]);
  (big.data as BigInt64Array)[0] = 2n ** 60n + 1n;
  const [y] = runOp("Add", [big, tensor("i64", [1], [2])]);
  assert.equal((y.data as BigInt64Array)[0], 2n ** 60n + 3n);
  const [z] = runOp("Mul", [big, tensor("i64", [1], [-1])]);
  assert.equal((z.data as BigInt64Array)[0], -(2n ** 60n) - 1n);
});

Deno.test("Integer arithmetic wraps to the type's width and Div truncates toward zero", () => {
  const [y] = runOp("Add", [tensor("u8", [2], [250, 3]), tensor("u8", [2], [10, 4])]);
  assert.deepEqual(toNumbers(y), [4, 7]);
  const [q] = runOp("Div", [tensor("i32", [2], [7, -7]), tensor("i32", [2], [2, 2])]);
  assert.deepEqual(toNumbers(q), [3, -3]);
});

Deno.test("Mod follows the divisor's sign unless fmod=1", () => {
  const a = tensor("i32", [4], [-4, 4, -4, 4]), b = tensor("i32", [4], [3, 3, -3, -3]);
  assert.deepEqual(toNumbers(runOp("Mod", [a, b])[0]), [2, 1, -1, -2]);
  assert.deepEqual(toNumbers(runOp("Mod", [a, b], { fmod: 1 })[0]), [-1, 1, -1, 1]);
});

Deno.test("Max and Min propagate NaN", () => {
  const a = tensor("f32", [2], [NaN, 1]), b = tensor("f32", [2], [0, NaN]);
  assert.ok(toNumbers(runOp("Max", [a, b])[0]).every(Number.isNaN));
  assert.ok(toNumbers(runOp("Min", [a, b])[0]).every(Number.isNaN));
});

Deno.test("Comparisons produce bool tensors and broadcast", () => {
  const [y] = runOp("Less", [tensor("f32", [3], [1, 2, 3]), tensor("f32", [], [2])]);
  assert.equal(y.dtype, "bool");
  assert.deepEqual(Array.from(y.data as Uint8Array), [1, 0, 0]);
});

Deno.test("Where broadcasts condition, x and y together", () => {
  const c: Tensor = { dtype: "bool", shape: [2, 1], data: new Uint8Array([1, 0]) };
  const [y] = runOp("Where", [c, tensor("f32", [3], [1, 2, 3]), tensor("f32", [], [0])]);
  assert.deepEqual(toNumbers(y), [1, 2, 3, 0, 0, 0]);
});

Deno.test("erf() is accurate to 1e-12 on both sides of the series/continued-fraction switch", () => {
  // Reference values: Python's math.erf (the C library's erf).
  const cases: [number, number][] = [
    [0, 0],
    [1e-8, 1.1283791670955126e-8],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [2.4999, 0.9995928300996666],
    [2.5, 0.999593047982555],
    [3, 0.9999779095030014],
    [-1.5, -0.9661051464753108],
    [4, 0.9999999845827421],
    [5.5, 0.9999999999999927],
  ];
  for (const [x, want] of cases) assert.ok(Math.abs(erf(x) - want) < 1e-12, `erf(${x})`);
});

Deno.test("Round sends halves to the even neighbour", () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven), [
    0,
    2,
    2,
    -0,
    -2,
    2,
    3,
  ]);
});
