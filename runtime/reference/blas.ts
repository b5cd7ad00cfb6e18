/**
 * The one hot loop of the interpreter: C += A * B on row-major arrays, used
 * by MatMul, Gemm, Conv (after im2col) and ConvTranspose. Products
 * accumulate in an f64 C, so f32 results are rounded once at the end.
 *
 * Loop order i-k-j streams rows of B and C (unit stride) and hoists A[i,k];
 * blocking over j and k keeps the B tile in cache across the rows of A.
 */

/** Any array of numbers the inner loop can read. */
export type Floats = Float32Array | Float64Array;

const NB = 512; // columns of B/C per tile
const KB = 128; // rows of B per tile

/**
 * C[m, n] += sum_k A[m, k] * B[k, n], with A (M x K) read through strides
 * (so a transposed A costs nothing) and B (K x N) row-major from `bOff`.
 * `c` is M x N row-major from `cOff`.
 */
export function gemmAcc(
  M: number,
  N: number,
  K: number,
  a: Floats,
  aOff: number,
  aRowStride: number,
  aColStride: number,
  b: Floats,
  bOff: number,
  c: Float64Array,
  cOff: number,
): void {
  for (let j0 = 0; j0 < N; j0 += NB) {
    const j1 = Math.min(N, j0 + NB);
    for (let k0 = 0; k0 < K; k0 += KB) {
      const k1 = Math.min(K, k0 + KB);
      let i = 0;
      // Four rows of A at a time: each B element loaded once feeds four products.
      for (; i + 3 < M; i += 4) {
        const c0 = cOff + i * N, c1 = c0 + N, c2 = c1 + N, c3 = c2 + N;
        const r0 = aOff + i * aRowStride, r1 = r0 + aRowStride;
        const r2 = r1 + aRowStride, r3 = r2 + aRowStride;
        for (let k = k0; k < k1; k++) {
          const kk = k * aColStride;
          const a0 = a[r0 + kk], a1 = a[r1 + kk], a2 = a[r2 + kk], a3 = a[r3 + kk];
          const bRow = bOff + k * N;
          for (let j = j0; j < j1; j++) {
            const bv = b[bRow + j];
            c[c0 + j] += a0 * bv;
            c[c1 + j] += a1 * bv;
            c[c2 + j] += a2 * bv;
            c[c3 + j] += a3 * bv;
          }
        }
      }
      for (; i < M; i++) {
        const cRow = cOff + i * N, aRow = aOff + i * aRowStride;
        for (let k = k0; k < k1; k++) {
          const av = a[aRow + k * aColStride];
          const bRow = bOff + k * N;
          for (let j = j0; j < j1; j++) c[cRow + j] += av * b[bRow + j];
        }
      }
    }
  }
}

/** A K x N row-major copy of a matrix read through strides (e.g. a transposed B). */
export function contiguous(
  b: Floats,
  off: number,
  K: number,
  N: number,
  rowStride: number,
  colStride: number,
): Float64Array {
  const out = new Float64Array(K * N);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) out[k * N + n] = b[off + k * rowStride + n * colStride];
  }
  return out;
}
