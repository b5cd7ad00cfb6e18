/**
 * pointwise_gemm: a training step's 1x1 convolution on maps of one position as one Gemm.
 */
import type { Graph, Node } from "../ir/graph.ts";
import type { Expr, ExprGraph } from "../ir/expr.ts";
import { numel } from "../ir/tensor.ts";
import { definePass } from "./context.ts";
import { expandInPlace } from "./expand.ts";
import { constantTable, type ConvGeometry, convGeometry, plain } from "./match.ts";

/**
 * An ungrouped Conv of one tap (stride 1, no padding) on a map of one position reads one
 * input vector per sample:
 *
 *   y[n, m, 0...] = sum_c W[m, c, 0...] x[n, c, 0...] + B[m]
 *   y = Reshape(Gemm(Reshape(x, [N, C]), Reshape(W, [M, C]), B; transB), [N, M, 1...])
 *
 * the same products, summed over c as onnxruntime's Conv sums them (one product over the
 * channels). Such convolutions are a squeeze-and-excitation block's two layers (on the pooled
 * map; EfficientNet-B0 has 16 such blocks) and what trim_conv_taps leaves of a 3x3 layer on a
 * 1x1 map (ResNet-18's last stage at 32x32). conv_columns makes the same Gemm of a step
 * already built, for layers of 16 input channels or more; here, before the gradients, it
 * applies to every such layer, and the gradients are a Gemm's: the squeeze-and-excitation's
 * reduced layer (4 to 80 input channels) no longer runs as a Conv, and elide_reshapes then
 * finds its activation between two Reshapes that undo each other.
 *
 * Runs in train mode only, before the gradients are built (`beforeGradientsPipeline`, after
 * trim_conv_taps): in eval mode a Conv keeps its weight's name and the batch norm folded into
 * it. Conditions: a weight that is not a constant (a constant one is onnxruntime's to lay
 * out), group 1, static channels and maps, every input spatial dim 1, a kernel of one tap,
 * stride 1 and no padding.
 */
export const pointwiseGemm = definePass({ id: "pointwise_gemm", modes: ["train"] }, (g, ctx) => {
  const consts = constantTable(g, ctx);
  const candidates = g.nodes.filter((n) =>
    plain(n)?.op === "Conv" && !consts.has(n.inputs[1]) && applies(g, n)
  );
  if (candidates.length === 0) return false;
  expandInPlace(
    g,
    ctx,
    candidates,
    { tag: "pointwise", constants: "pointwise" },
    (e, conv) => pointwiseGemmOf(e, conv, convGeometry(g, conv)!),
  );
  return true;
});

/**
 * The Gemm of a one-tap convolution on maps of one position (above): also conv_columns', for
 * such a layer in a step already built.
 */
export function pointwiseGemmOf(e: ExprGraph, conv: Node, p: ConvGeometry): Expr {
  const [x, w, bias] = conv.inputs;
  const cBias = bias ? [e.v(bias)] : [];
  return e.v(x).reshape([0, p.channelsIn])
    .op("Gemm", [e.v(w).reshape([p.channelsOut, p.channelsIn]), ...cBias], { transB: 1 })
    .reshape([0, p.channelsOut, ...p.outSp]);
}

function applies(g: Graph, conv: Node): boolean {
  const p = convGeometry(g, conv);
  return !!p && p.group === 1 && numel(p.inSp) === 1 && numel(p.kernel) === 1 &&
    p.strides.every((s) => s === 1) && p.pads.every((v) => v === 0);
}
