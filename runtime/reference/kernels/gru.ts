/**
 * GRU, gates z, r, h (f default Sigmoid, g default Tanh):
 *   z = f(X Wz^T + H Rz^T + Wbz + Rbz),  r = f(X Wr^T + H Rr^T + Wbr + Rbr)
 *   h~ = g(X Wh^T + (r * H) Rh^T + Rbh + Wbh)         (linear_before_reset = 0)
 *   h~ = g(X Wh^T + r * (H Rh^T + Rbh) + Wbh)         (linear_before_reset = 1)
 *   H' = (1 - z) * h~ + z * H
 */
import type { Kernel } from "../kernel.ts";
import { attrInt } from "../util.ts";
import { activations, gateMatVec, recurrent, runRecurrent } from "./rnn_util.ts";

export const gru: Kernel = (inputs, attrs) => {
  const r = recurrent(inputs, attrs, 3);
  const act = activations(attrs, ["Sigmoid", "Tanh"], r.dirs);
  const lbr = attrInt(attrs, "linear_before_reset", 0) !== 0;
  const H = r.hidden, clip = r.clip;
  const cl = (v: number) => Math.max(-clip, Math.min(clip, v));
  return runRecurrent(r, [r.state(5)], (d, x, [h]) => {
    const f = act[2 * d], g = act[2 * d + 1];
    const W = r.W[d], R = r.R[d], B = r.B[d];
    const gate = (k: number, withR: boolean) => {
      const a = new Float64Array(H);
      for (let i = 0; i < H; i++) a[i] = B[k * H + i] + (withR ? B[(3 + k) * H + i] : 0);
      gateMatVec(W, r.inSize, k, H, x, a);
      if (withR) gateMatVec(R, H, k, H, h, a);
      return a;
    };
    const z = gate(0, true).map((v) => f(cl(v)));
    const rr = gate(1, true).map((v) => f(cl(v)));
    const pre = gate(2, false);
    if (lbr) {
      const rh = new Float64Array(H);
      for (let i = 0; i < H; i++) rh[i] = B[5 * H + i];
      gateMatVec(R, H, 2, H, h, rh);
      for (let i = 0; i < H; i++) pre[i] += rr[i] * rh[i];
    } else {
      for (let i = 0; i < H; i++) pre[i] += B[5 * H + i];
      gateMatVec(R, H, 2, H, h.map((v, i) => rr[i] * v), pre);
    }
    const ht = pre.map((v) => g(cl(v)));
    return [ht.map((v, i) => (1 - z[i]) * v + z[i] * h[i])];
  });
};
