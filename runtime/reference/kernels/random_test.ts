import assert from "node:assert/strict";
import { runOp } from "../interpreter.ts";
import { tensor, toNumbers } from "../../../compiler/ir/tensor.ts";

const on: { dtype: "bool"; shape: number[]; data: Uint8Array } = {
  dtype: "bool",
  shape: [],
  data: new Uint8Array([1]),
};

Deno.test("Dropout in inference is the identity with an all-true mask", () => {
  const x = tensor("f32", [4], [1, 2, 3, 4]);
  const [y, mask] = runOp("Dropout", [x, tensor("f32", [], [0.5])], {}, { outputs: 2 });
  assert.deepEqual(toNumbers(y), [1, 2, 3, 4]);
  assert.deepEqual(mask.data, new Uint8Array(4).fill(1));
});

Deno.test("Dropout in training keeps about 1 - ratio, scaled by 1 / (1 - ratio), reproducibly", () => {
  const n = 4000;
  const x = tensor("f32", [n], new Array(n).fill(1));
  const run = () =>
    runOp("Dropout", [x, tensor("f32", [], [0.25]), on], { seed: 3 }, { outputs: 2 });
  const [y, mask] = run();
  const kept = (mask.data as Uint8Array).reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(kept / n - 0.75) < 0.03, `kept ${kept} of ${n}`);
  toNumbers(y).forEach((v, i) => assert.equal(v, mask.data[i] ? Math.fround(1 / 0.75) : 0));
  assert.deepEqual(run()[1].data, mask.data);
});

Deno.test("RandomNormal and RandomUniform honour their parameters and seeds", () => {
  const [u] = runOp("RandomUniform", [], { shape: [2000], low: 2, high: 4, seed: 1 });
  const uv = toNumbers(u);
  assert.ok(uv.every((v) => v >= 2 && v < 4));
  assert.ok(Math.abs(uv.reduce((a, b) => a + b) / uv.length - 3) < 0.05);
  const [n] = runOp("RandomNormal", [], { shape: [4000], mean: 1, scale: 2, seed: 1, dtype: 11 });
  assert.equal(n.dtype, "f64");
  const nv = toNumbers(n), mean = nv.reduce((a, b) => a + b) / nv.length;
  const sd = Math.sqrt(nv.reduce((a, b) => a + (b - mean) ** 2, 0) / nv.length);
  assert.ok(Math.abs(mean - 1) < 0.1 && Math.abs(sd - 2) < 0.1, `mean ${mean}, sd ${sd}`);
  const [again] = runOp("RandomNormal", [], {
    shape: [4000],
    mean: 1,
    scale: 2,
    seed: 1,
    dtype: 11,
  });
  assert.deepEqual(again.data, n.data);
});

Deno.test("RandomUniformLike takes the shape and dtype of its input", () => {
  const [y] = runOp("RandomUniformLike", [tensor("f64", [2, 3], new Array(6).fill(0))]);
  assert.equal(y.dtype, "f64");
  assert.deepEqual(y.shape, [2, 3]);
});
