/**
 * GRU (opset 14): one layer of a gated recurrent unit, gates in ONNX's
 * order z, r, h (PyTorch's is r, z, n):
 *
 *   z = σ(X W_z^T + H R_z^T + b_z)   r = σ(X W_r^T + H R_r^T + b_r)
 *   h̃ = tanh(X W_h^T + (r ⊙ H) R_h^T + Rb_h + Wb_h)        linear_before_reset = 0
 *   h̃ = tanh(X W_h^T + r ⊙ (H R_h^T + Rb_h) + Wb_h)        linear_before_reset = 1 (PyTorch)
 *   H' = (1 - z) ⊙ h̃ + z ⊙ H
 *
 * Shapes as RNN's (see rnn.ts) with 3 gates.
 */
import type { OpDef } from "./op_def.ts";
import { RECURRENT_ATTRS, RECURRENT_INPUTS, recurrentInfer } from "./rnn.ts";

export const gruOp: OpDef = {
  op: "GRU",
  noGradYet:
    "differentiated through its unrolled form: grad/expand_recurrent.ts replaces it before the backward pass",
  since: 14,
  inputs: RECURRENT_INPUTS,
  outputs: [{ name: "Y", optional: true }, { name: "Y_h", optional: true }],
  attrs: { ...RECURRENT_ATTRS, linear_before_reset: { type: "int", default: 0 } },
  infer: (ctx) => recurrentInfer("GRU", 3, ctx),
};
