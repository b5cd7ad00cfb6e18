import assert from "node:assert/strict";
import { MAX_CONSTANT_ELEMENTS, table, toNumbers, TooLarge } from "./tensor.ts";

Deno.test("table() makes a tensor whose element i is at(i), its 16-bit floats and i64 encoded", () => {
  assert.deepEqual(toNumbers(table("i64", [2, 2], "t", (i) => i * 3)), [0, 3, 6, 9]);
  assert.deepEqual(toNumbers(table("f16", [3], "t", (i) => i / 2)), [0, 0.5, 1]);
  assert.deepEqual(toNumbers(table("f32", [2], "t")), [0, 0]);
});

Deno.test("table() refuses a constant past the limit before allocating anything", () => {
  const before = Deno.memoryUsage().heapUsed;
  assert.throws(
    () => table("f32", [2 ** 20, 2 ** 20], "a test table", () => 1),
    (e: unknown) =>
      e instanceof TooLarge &&
      e.message ===
        "a test table would be a constant of 1,099,511,627,776 elements ([1048576, 1048576])" &&
      e.args[3] === "268,435,456",
  );
  assert.ok(Deno.memoryUsage().heapUsed - before < 64 * 2 ** 20);
  assert.equal(
    table("u8", [MAX_CONSTANT_ELEMENTS], "the largest").data.length,
    MAX_CONSTANT_ELEMENTS,
  );
});
