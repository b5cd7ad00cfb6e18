/**
 * LSTM, gates i, o, f, c (f default Sigmoid, g and h default Tanh), peepholes P:
 *   i = f(X Wi^T + H Ri^T + Pi * C + Wbi + Rbi)   (f gate alike with Pf)
 *   c~ = g(X Wc^T + H Rc^T + Wbc + Rbc),  C' = f * C + i * c~
 *   o = f(X Wo^T + H Ro^T + Po * C' + Wbo + Rbo),  H' = o * h(C')
 * With input_forget=1 the forget gate is 1 - i.
 */
import type { Kernel } from "../kernel.ts";
import { attrInt, numbers } from "../util.ts";
import { activations, gateMatVec, recurrent, runRecurrent } from "./rnn_util.ts";

export const lstm: Kernel = (inputs, attrs) => {
  const r = recurrent(inputs, attrs, 4);
  const act = activations(attrs, ["Sigmoid", "Tanh", "Tanh"], r.dirs);
  const coupled = attrInt(attrs, "input_forget", 0) !== 0;
  const H = r.hidden, clip = r.clip;
  const P = inputs[7] ? numbers(inputs[7]) : undefined;
  const cl = (v: number) => Math.max(-clip, Math.min(clip, v));
  return runRecurrent(r, [r.state(5), r.state(6)], (d, x, [h, c]) => {
    const [f, g, hh] = act.slice(3 * d, 3 * d + 3);
    const gate = (k: number) => {
      const a = new Float64Array(H);
      for (let j = 0; j < H; j++) a[j] = r.B[d][k * H + j] + r.B[d][(4 + k) * H + j];
      gateMatVec(r.W[d], r.inSize, k, H, x, a);
      gateMatVec(r.R[d], H, k, H, h, a);
      return a;
    };
    const peep = (k: number, j: number) => (P ? P[d * 3 * H + k * H + j] : 0);
    const [ai, ao, af, ac] = [gate(0), gate(1), gate(2), gate(3)];
    const i = ai.map((v, j) => f(cl(v + peep(0, j) * c[j])));
    const fg = coupled ? i.map((v) => 1 - v) : af.map((v, j) => f(cl(v + peep(2, j) * c[j])));
    const ct = ac.map((v) => g(cl(v)));
    const C = ct.map((v, j) => fg[j] * c[j] + i[j] * v);
    const o = ao.map((v, j) => f(cl(v + peep(1, j) * C[j])));
    return [C.map((v, j) => o[j] * hh(v)), C];
  });
};
