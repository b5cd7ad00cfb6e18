import assert from "node:assert/strict";
import {
  broadcastMap,
  broadcastShapes,
  fromValues,
  gatherByDims,
  indexMap,
  planReduction,
} from "./util.ts";
import { tensor, toNumbers } from "../../compiler/ir/tensor.ts";
import { KernelError } from "./kernel.ts";

Deno.test("broadcastShapes() follows numpy: right-aligned, 1 stretches", () => {
  assert.deepEqual(broadcastShapes([2, 1, 3], [4, 1]), [2, 4, 3]);
  assert.deepEqual(broadcastShapes([], [5]), [5]);
  assert.deepEqual(broadcastShapes([0, 1], [1, 3]), [0, 3]);
});

Deno.test("broadcastShapes() rejects incompatible dims and says which", () => {
  assert.throws(
    () => broadcastShapes([2, 3], [4]),
    (e: unknown) => e instanceof KernelError && /dim 1 is 3 and 4/.test(e.message),
  );
});

Deno.test("broadcastMap() maps each output element to its broadcast source", () => {
  assert.equal(broadcastMap([2, 3], [2, 3]), null);
  assert.deepEqual(Array.from(broadcastMap([2, 3], [3])!), [0, 1, 2, 0, 1, 2]);
  assert.deepEqual(Array.from(broadcastMap([2, 3], [2, 1])!), [0, 0, 0, 1, 1, 1]);
  assert.deepEqual(Array.from(broadcastMap([2, 2], [])!), [0, 0, 0, 0]);
});

Deno.test("indexMap() enumerates offset + coord . strides in row-major order", () => {
  // A transpose of a 2x3 matrix: strides (1, 3).
  assert.deepEqual(Array.from(indexMap([3, 2], [1, 3], 0)), [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(Array.from(indexMap([], [], 7)), [7]);
});

Deno.test("fromValues() rounds, truncates and wraps like the target dtype", () => {
  assert.deepEqual(toNumbers(fromValues("i32", [3], [1.9, -1.9, 2 ** 32 + 5])), [1, -1, 5]);
  assert.deepEqual(toNumbers(fromValues("u8", [2], [256, -1])), [0, 255]);
  assert.deepEqual(fromValues("bool", [3], [0, NaN, -2]).data, new Uint8Array([0, 1, 1]));
  assert.deepEqual(
    fromValues("i64", [2], [2.7, 2n ** 60n]).data,
    new BigInt64Array([2n, 2n ** 60n]),
  );
  assert.deepEqual(toNumbers(fromValues("f16", [2], [1 / 3, 65504])), [0.333251953125, 65504]);
});

Deno.test("planReduction() keeps or drops reduced dims and counts the folded elements", () => {
  const p = planReduction([2, 3, 4], [1, -1], true);
  assert.deepEqual(p.shape, [2, 1, 1]);
  assert.equal(p.count, 12);
  assert.equal(p.map[23], 1);
  assert.deepEqual(planReduction([2, 3], undefined, false).shape, []);
  assert.deepEqual(planReduction([2, 3], [], false, true).shape, [2, 3]);
});

Deno.test("gatherByDims() fills negative source coordinates with the fill value", () => {
  const x = tensor("i64", [2], [7, 8]);
  const y = gatherByDims(x, [4], [Int32Array.from([-1, 0, 1, -1])], 9);
  assert.deepEqual(y.data, new BigInt64Array([9n, 7n, 8n, 9n]));
});
