/**
 * LSTM (opset 14): one layer of a long short-term memory network, gates in
 * ONNX's order i, o, f, c (PyTorch's is i, f, g, o):
 *
 *   i = σ(X W_i^T + H R_i^T + P_i ⊙ C + b_i)   f = σ(X W_f^T + H R_f^T + P_f ⊙ C + b_f)
 *   c̃ = tanh(X W_c^T + H R_c^T + b_c)           C' = f ⊙ C + i ⊙ c̃
 *   o = σ(X W_o^T + H R_o^T + P_o ⊙ C' + b_o)  H' = o ⊙ tanh(C')
 *
 * Shapes as RNN's (see rnn.ts) with 4 gates, plus initial_c / Y_c like
 * initial_h / Y_h and peepholes P [dirs, 3*H].
 */
import type { OpDef } from "./op_def.ts";
import { RECURRENT_ATTRS, RECURRENT_INPUTS, recurrentInfer } from "./rnn.ts";

export const lstmOp: OpDef = {
  op: "LSTM",
  noGradYet:
    "differentiated through its unrolled form: grad/expand_recurrent.ts replaces it before the backward pass",
  since: 14,
  inputs: [...RECURRENT_INPUTS, { name: "initial_c", optional: true }, {
    name: "P",
    optional: true,
  }],
  outputs: [
    { name: "Y", optional: true },
    { name: "Y_h", optional: true },
    { name: "Y_c", optional: true },
  ],
  attrs: { ...RECURRENT_ATTRS, input_forget: { type: "int", default: 0 } },
  infer: (ctx) => recurrentInfer("LSTM", 4, ctx),
};
