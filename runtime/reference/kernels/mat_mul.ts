/**
 * MatMul: numpy matmul. 1-D operands are promoted (a to [1, K], b to
 * [K, 1]) and the added dim removed after; batch dims broadcast.
 */
import type { Kernel } from "../kernel.ts";
import {
  broadcastShapes,
  finish,
  input,
  kernelFailIf,
  numbers,
  scratch,
  stridesOf,
} from "../util.ts";
import { gemmAcc } from "../blas.ts";
import { numel, type Tensor } from "../../../compiler/ir/tensor.ts";

/** numpy matmul of two numeric tensors of one dtype. */
export function matmulTensors(a: Tensor, b: Tensor): Tensor {
  kernelFailIf(a.dtype !== b.dtype, `MatMul expects one dtype, found ${a.dtype} and ${b.dtype}`);
  kernelFailIf(a.shape.length === 0 || b.shape.length === 0, "MatMul does not take scalars");
  const as = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const bs = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  const M = as[as.length - 2], K = as[as.length - 1];
  const K2 = bs[bs.length - 2], N = bs[bs.length - 1];
  kernelFailIf(
    K !== K2,
    `MatMul expects a's last dim to equal b's second-to-last, found [${a.shape}] and [${b.shape}]`,
  );
  const batch = broadcastShapes(as.slice(0, -2), bs.slice(0, -2));
  const nb = numel(batch);
  const aBatch = batchOffsets(batch, as.slice(0, -2), M * K);
  const bBatch = batchOffsets(batch, bs.slice(0, -2), K * N);
  const av = asFloats(a), bv = asFloats(b);
  const acc = new Float64Array(nb * M * N);
  for (let i = 0; i < nb; i++) {
    gemmAcc(M, N, K, av, aBatch[i], K, 1, bv, bBatch[i], acc, i * M * N);
  }
  let shape = [...batch, M, N];
  if (a.shape.length === 1) shape = [...batch, N];
  if (b.shape.length === 1) shape = a.shape.length === 1 ? [...batch] : [...batch, M];
  const out = scratch(a.dtype, acc.length);
  if (out instanceof Float64Array) out.set(acc);
  else for (let i = 0; i < acc.length; i++) out[i] = acc[i];
  return finish(a.dtype, shape, out);
}

function asFloats(t: Tensor): Float32Array | Float64Array {
  const v = numbers(t);
  return v instanceof Float32Array || v instanceof Float64Array ? v : Float64Array.from(v);
}

/** Element offset of each broadcast batch's matrix in an operand with `shape` batch dims. */
function batchOffsets(batch: number[], shape: number[], matSize: number): Int32Array {
  const n = numel(batch);
  const out = new Int32Array(n);
  const str = stridesOf(shape);
  const bStr = stridesOf(batch);
  const off = batch.length - shape.length;
  for (let i = 0; i < n; i++) {
    let rest = i, idx = 0;
    for (let d = 0; d < batch.length; d++) {
      const c = Math.floor(rest / bStr[d]);
      rest -= c * bStr[d];
      const sd = d - off;
      if (sd >= 0 && shape[sd] !== 1) idx += c * str[sd];
    }
    out[i] = idx * matSize;
  }
  return out;
}

export const matMul: Kernel = (inputs) => [matmulTensors(input(inputs, 0), input(inputs, 1))];
