/**
 * Gemm: Y = alpha * A' B' + beta * C, where A' = transA ? A^T : A (M x K),
 * B' = transB ? B^T : B (K x N), and C (optional) broadcasts to [M, N].
 */
import type { Kernel } from "../kernel.ts";
import {
  attrFloat,
  attrInt,
  broadcastMap,
  finish,
  input,
  kernelFailIf,
  numbers,
  scratch,
} from "../util.ts";
import { contiguous, gemmAcc } from "../blas.ts";

export const gemm: Kernel = (inputs, attrs) => {
  const a = input(inputs, 0), b = input(inputs, 1), c = inputs[2];
  const alpha = attrFloat(attrs, "alpha", 1), beta = attrFloat(attrs, "beta", 1);
  const tA = attrInt(attrs, "transA", 0) !== 0, tB = attrInt(attrs, "transB", 0) !== 0;
  kernelFailIf(a.shape.length !== 2 || b.shape.length !== 2, "Gemm expects 2-D A and B");
  const M = tA ? a.shape[1] : a.shape[0], K = tA ? a.shape[0] : a.shape[1];
  const K2 = tB ? b.shape[1] : b.shape[0], N = tB ? b.shape[0] : b.shape[1];
  kernelFailIf(K !== K2, `Gemm inner dims differ: A' is ${M}x${K}, B' is ${K2}x${N}`);
  const av = floats(numbers(a)), bRaw = floats(numbers(b));
  // A is read through strides; B is made row-major K x N once.
  const bv = tB ? contiguous(bRaw, 0, K, N, 1, K) : bRaw;
  const acc = new Float64Array(M * N);
  gemmAcc(M, N, K, av, 0, tA ? 1 : K, tA ? M : 1, bv, 0, acc, 0);
  const out = scratch(a.dtype, M * N);
  if (c) {
    kernelFailIf(
      c.shape.length > 2 || c.shape.some((d, i) => d !== 1 && d !== [M, N][i + 2 - c.shape.length]),
      `Gemm expects C to broadcast to [${M}, ${N}], found [${c.shape}]`,
    );
    const cv = numbers(c);
    const map = broadcastMap([M, N], c.shape);
    for (let i = 0; i < M * N; i++) out[i] = alpha * acc[i] + beta * cv[map ? map[i] : i];
  } else {
    for (let i = 0; i < M * N; i++) out[i] = alpha * acc[i];
  }
  return [finish(a.dtype, [M, N], out)];
};

function floats(v: ArrayLike<number>): Float32Array | Float64Array {
  return v instanceof Float32Array || v instanceof Float64Array ? v : Float64Array.from(v);
}
