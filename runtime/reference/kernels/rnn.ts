/** RNN: H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb), f default Tanh. See rnn_util.ts. */
import type { Kernel } from "../kernel.ts";
import { activations, gateMatVec, recurrent, runRecurrent } from "./rnn_util.ts";

export const rnn: Kernel = (inputs, attrs) => {
  const r = recurrent(inputs, attrs, 1);
  const f = activations(attrs, ["Tanh"], r.dirs);
  const H = r.hidden, clip = r.clip;
  return runRecurrent(r, [r.state(5)], (d, x, [h]) => {
    const a = new Float64Array(H);
    for (let i = 0; i < H; i++) a[i] = r.B[d][i] + r.B[d][H + i];
    gateMatVec(r.W[d], r.inSize, 0, H, x, a);
    gateMatVec(r.R[d], H, 0, H, h, a);
    return [a.map((v) => f[d](Math.max(-clip, Math.min(clip, v))))];
  });
};
