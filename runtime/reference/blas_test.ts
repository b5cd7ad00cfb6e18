import assert from "node:assert/strict";
import { contiguous, gemmAcc } from "./blas.ts";

function naive(
  M: number,
  N: number,
  K: number,
  a: (i: number, k: number) => number,
  b: Float64Array,
) {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      for (let k = 0; k < K; k++) c[i * N + j] += a(i, k) * b[k * N + j];
    }
  }
  return c;
}

Deno.test("gemmAcc() matches the triple loop across tile and row-block edges", () => {
  // Sizes straddle the 4-row block and the 512/128 tiles.
  const [M, N, K] = [7, 515, 130];
  const a = Float32Array.from({ length: M * K }, (_, i) => ((i * 7919) % 13) - 6);
  const b = Float64Array.from({ length: K * N }, (_, i) => ((i * 104729) % 11) - 5);
  const c = new Float64Array(M * N).fill(1);
  gemmAcc(M, N, K, a, 0, K, 1, b, 0, c, 0);
  const want = naive(M, N, K, (i, k) => a[i * K + k], b);
  assert.deepEqual(Array.from(c), Array.from(want, (v) => v + 1));
});

Deno.test("gemmAcc() reads a transposed A through its strides", () => {
  const [M, N, K] = [5, 3, 4];
  // A^T stored K x M: A[i, k] = at[k * M + i].
  const at = Float64Array.from({ length: K * M }, (_, i) => i - 3);
  const b = Float64Array.from({ length: K * N }, (_, i) => i % 5);
  const c = new Float64Array(M * N);
  gemmAcc(M, N, K, at, 0, 1, M, b, 0, c, 0);
  assert.deepEqual(Array.from(c), Array.from(naive(M, N, K, (i, k) => at[k * M + i], b)));
});

Deno.test("contiguous() copies a strided matrix to row-major", () => {
  // The transpose of [[1, 2, 3], [4, 5, 6]].
  const m = Float64Array.from([1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(contiguous(m, 0, 3, 2, 1, 3)), [1, 4, 2, 5, 3, 6]);
});
