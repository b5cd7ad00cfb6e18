/**
 * The one hot loop of the interpreter: C += A * B on row-major arrays, used
 * by MatMul, Gemm, Conv (after im2col) and ConvTranspose. Products
 * accumulate in an f64 C, so f32 results are rounded once at the end.
 *
 * Loop order i-k-j streams rows of B and C (unit stride) and hoists A[i,k];
 * blocking over k and j keeps the B tile in cache across the rows of A.
 */

/** Any array of numbers the inner loop can read. */
export type Floats = Float32Array | Float64Array;

const NB = 512; // columns of B/C per tile
const KB = 128; // rows of B per tile

/**
 * C[m, n] += sum_k A[m, k] * B[k, n], with A (M x K) read through strides
 * (so a transposed A costs nothing) and B (K x N) row-major from `bOff`.
 * `c` is M x N row-major from `cOff`.
 *
 * Each (k, j) tile of B and the matching columns of A are first copied
 * ("packed") into f64 scratch arrays: the hot loop then always sees
 * contiguous Float64Arrays, whatever the callers pass.
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
  const bt = new Float64Array(Math.min(K, KB) * Math.min(N, NB));
  const at = new Float64Array(M * Math.min(K, KB));
  for (let k0 = 0; k0 < K; k0 += KB) {
    const kb = Math.min(K, k0 + KB) - k0;
    for (let i = 0; i < M; i++) {
      const src = aOff + i * aRowStride + k0 * aColStride;
      for (let k = 0; k < kb; k++) at[i * kb + k] = a[src + k * aColStride];
    }
    for (let j0 = 0; j0 < N; j0 += NB) {
      const nb = Math.min(N, j0 + NB) - j0;
      for (let k = 0; k < kb; k++) {
        const src = bOff + (k0 + k) * N + j0;
        for (let j = 0; j < nb; j++) bt[k * nb + j] = b[src + j];
      }
      tile(M, N, kb, nb, at, bt, c, cOff + j0);
    }
  }
}

/** C[:, tile] += A_block (M x kb, packed) * B_tile (kb x nb, packed). */
function tile(
  M: number,
  N: number,
  kb: number,
  nb: number,
  at: Float64Array,
  bt: Float64Array,
  c: Float64Array,
  cOff: number,
): void {
  let i = 0;
  // Four rows of A at a time: each B element loaded once feeds four products.
  for (; i + 3 < M; i += 4) {
    const c0 = cOff + i * N, c1 = c0 + N, c2 = c1 + N, c3 = c2 + N;
    const r0 = i * kb, r1 = r0 + kb, r2 = r1 + kb, r3 = r2 + kb;
    for (let k = 0; k < kb; k++) {
      const a0 = at[r0 + k], a1 = at[r1 + k], a2 = at[r2 + k], a3 = at[r3 + k];
      const bRow = k * nb;
      for (let j = 0; j < nb; j++) {
        const bv = bt[bRow + j];
        c[c0 + j] += a0 * bv;
        c[c1 + j] += a1 * bv;
        c[c2 + j] += a2 * bv;
        c[c3 + j] += a3 * bv;
      }
    }
  }
  for (; i < M; i++) {
    const cRow = cOff + i * N, aRow = i * kb;
    for (let k = 0; k < kb; k++) {
      const av = at[aRow + k], bRow = k * nb;
      for (let j = 0; j < nb; j++) c[cRow + j] += av * bt[bRow + j];
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
