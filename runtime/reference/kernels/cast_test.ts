import assert from "node:assert/strict";
import { runOp } from "../interpreter.ts";
import { DTYPES, type Tensor, tensor, toNumbers } from "../../../compiler/ir/tensor.ts";

const cast = (x: Tensor, to: keyof typeof DTYPES) => runOp("Cast", [x], { to: DTYPES[to].onnx })[0];

Deno.test("Cast from float to integer truncates toward zero", () => {
  const y = cast(tensor("f32", [4], [1.9, -1.9, 0.5, -0.5]), "i32");
  assert.deepEqual(toNumbers(y), [1, -1, 0, 0]);
  const z = cast(tensor("f64", [1], [-7.99]), "i64");
  assert.deepEqual(z.data, new BigInt64Array([-7n]));
});

Deno.test("Cast to bool is x != 0 and to f16 rounds to nearest even", () => {
  assert.deepEqual(
    cast(tensor("f32", [3], [0, -0.1, NaN]), "bool").data,
    new Uint8Array([0, 1, 1]),
  );
  const h = cast(tensor("f32", [2], [1 + 2 ** -11, 1 + 3 * 2 ** -11]), "f16");
  assert.deepEqual(toNumbers(h), [1, 1 + 2 ** -9]);
});

Deno.test("Cast between numbers and strings prints the shortest round-trip form", () => {
  const s = cast(tensor("f32", [3], [0.1, 1e-5, -3]), "str");
  assert.deepEqual(s.data, ["0.1", "0.00001", "-3"]);
  const back = cast({ dtype: "str", shape: [3], data: ["1.5", "-inf", "NaN"] }, "f32");
  const v = toNumbers(back);
  assert.equal(v[0], 1.5);
  assert.equal(v[1], -Infinity);
  assert.ok(Number.isNaN(v[2]));
});
