/**
 * com.microsoft MultiHeadAttention (unpacked query/key/value, no past
 * state). With N heads of size h = D / N (value heads hv = Dv / N), bias
 * [D + D + Dv] added to Q, K, V first, per batch b, head n, query row i:
 *   score_ij = scale * sum_c Q[b,i,n*h+c] K[b,j,n*h+c] + mask_ij + attention_bias[b,n,i,j]
 *   out[b,i,n*hv+c] = sum_j softmax_j(score_ij) V[b,j,n*hv+c]
 * scale defaults to 1 / sqrt(h). mask_ij is mask_filter_value where
 * key_padding_mask marks key j as padding (0 in [B, L] / [B, S, L]; j >= length
 * for [B]) or, with unidirectional, where j > i; else 0. Outputs: output,
 * present_key [B, N, L, h], present_value [B, N, L, hv], qk (scaled scores,
 * masks included).
 */
import type { Kernel } from "../../kernel.ts";
import {
  attrFloat,
  attrInt,
  broadcastMap,
  finish,
  input,
  kernelFail,
  numbers,
  scratch,
} from "../../util.ts";

export const multiHeadAttention: Kernel = (inputs, attrs) => {
  const q = input(inputs, 0, "query"), k = input(inputs, 1, "key"), v = input(inputs, 2, "value");
  const [, , , biasT, maskT, attnBiasT] = inputs;
  if (inputs.slice(6).some((t) => t)) kernelFail("Past state and caches are not supported");
  if (q.shape.length !== 3 || k.shape.length !== 3 || v.shape.length !== 3) {
    kernelFail("Expected 3-D query, key and value (packed forms are not supported)");
  }
  const N = attrInt(attrs, "num_heads", 0);
  const [B, S, D] = q.shape, L = k.shape[1], Dv = v.shape[2];
  if (N < 1 || D % N || Dv % N) kernelFail(`Hidden sizes ${D}, ${Dv} do not split into ${N} heads`);
  const h = D / N, hv = Dv / N;
  const scale = attrFloat(attrs, "scale", 0) || 1 / Math.sqrt(h);
  const filter = attrFloat(attrs, "mask_filter_value", -10000);
  const causal = attrInt(attrs, "unidirectional", 0) !== 0;
  const qv = numbers(q), kv = numbers(k), vv = numbers(v);
  const bias = biasT ? numbers(biasT) : undefined;
  const mask = maskT ? numbers(maskT) : undefined;
  const ab = attnBiasT ? numbers(attnBiasT) : undefined;
  const abMap = attnBiasT ? broadcastMap([B, N, S, L], attnBiasT.shape) : null;
  const qb = (i: number) => (bias ? bias[i] : 0);
  const out = scratch(q.dtype, B * S * Dv);
  const presentK = scratch(q.dtype, B * N * L * h), presentV = scratch(q.dtype, B * N * L * hv);
  const qk = scratch(q.dtype, B * N * S * L);
  const row = new Float64Array(L);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < L; j++) {
        for (let c = 0; c < h; c++) {
          presentK[((b * N + n) * L + j) * h + c] = kv[(b * L + j) * D + n * h + c] +
            qb(D + n * h + c);
        }
        for (let c = 0; c < hv; c++) {
          presentV[((b * N + n) * L + j) * hv + c] = vv[(b * L + j) * Dv + n * hv + c] +
            qb(2 * D + n * hv + c);
        }
      }
      for (let i = 0; i < S; i++) {
        let m = -Infinity;
        for (let j = 0; j < L; j++) {
          let dot = 0;
          for (let c = 0; c < h; c++) {
            const qi = qv[(b * S + i) * D + n * h + c] + qb(n * h + c);
            dot += qi * presentK[((b * N + n) * L + j) * h + c];
          }
          let sc = scale * dot;
          if (masked(mask, maskT?.shape.length ?? 0, b, i, j, S, L) || (causal && j > i)) {
            sc += filter;
          }
          if (ab) {
            const f = ((b * N + n) * S + i) * L + j;
            sc += ab[abMap ? abMap[f] : f];
          }
          row[j] = sc;
          qk[((b * N + n) * S + i) * L + j] = sc;
          m = Math.max(m, sc);
        }
        let z = 0;
        for (let j = 0; j < L; j++) z += row[j] = Math.exp(row[j] - m);
        for (let c = 0; c < hv; c++) {
          let acc = 0;
          for (let j = 0; j < L; j++) acc += row[j] * presentV[((b * N + n) * L + j) * hv + c];
          out[(b * S + i) * Dv + n * hv + c] = acc / z;
        }
      }
    }
  }
  return [
    finish(q.dtype, [B, S, Dv], out),
    finish(q.dtype, [B, N, L, h], presentK),
    finish(q.dtype, [B, N, L, hv], presentV),
    finish(q.dtype, [B, N, S, L], qk),
  ];
};

/** Whether key j is padding for query i of batch b under a key_padding_mask of the given rank. */
function masked(
  mask: ArrayLike<number> | undefined,
  rank: number,
  b: number,
  i: number,
  j: number,
  S: number,
  L: number,
): boolean {
  if (!mask) return false;
  if (rank === 1) return j >= mask[b];
  if (rank === 2) return mask[b * L + j] === 0;
  return mask[(b * S + i) * L + j] === 0;
}
