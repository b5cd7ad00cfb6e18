/**
 * dlm StopGradient (domain "dlm", version 1): Y = X in the forward pass,
 * while the backward pass treats Y as a constant, so no gradient reaches X
 * through it (PyTorch's `detach`, JAX's `stop_gradient`).
 *
 * ONNX has no such operator: a training step is differentiated by dlm
 * before it is emitted, so "no gradient" only has to hold for dlm's own
 * autodiff, which stops at an op marked `differentiable: false` (no
 * backward node at all, not a multiplication by zero). Emitted models see
 * a plain `Identity`, by the lowering below; inference graphs drop it
 * earlier, as an eval-mode no-op. It must stay in the IR until the
 * gradients are built, which is why it is not the ONNX `Identity` itself:
 * remove_noops deletes an Identity in every mode.
 */
import type { Node } from "../ir/graph.ts";
import type { OpDef } from "./op_def.ts";
import { input } from "./rules.ts";

/** The domain of IR ops that exist only inside dlm and are lowered to standard ONNX. */
export const DLM_DOMAIN = "dlm";

export const stopGradientOp: OpDef = {
  op: "StopGradient",
  domain: DLM_DOMAIN,
  since: 1,
  inputs: [{ name: "X" }],
  outputs: [{ name: "Y" }],
  attrs: {},
  differentiable: false,
  nature: ["eval-noop"],
  infer(ctx) {
    const x = input(ctx, "StopGradient", 0, "X");
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
  lower(node: Node): Node[] {
    const { domain: _, ...rest } = node;
    return [{ ...rest, op: "Identity" }];
  },
};
