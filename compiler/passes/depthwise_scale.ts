/**
 * depthwise_scale: a depthwise convolution of one tap is a per-channel scale.
 */
import type { Graph, Node } from "../ir/graph.ts";
import { numel, tensor } from "../ir/tensor.ts";
import { definePass, noteRewrite } from "./context.ts";
import { convGeometry, freshName, plain, takenNames } from "./match.ts";

/**
 * A Conv with group C over C input and C output channels, a kernel of one
 * tap (every kernel dim 1), stride 1 and no padding has o = i and
 *
 *   y[n, c, o] = sum over the one tap and the one channel of group c
 *              = W[c, 0, 0...] x[n, c, o] + B[c]
 *
 *   y = Mul(x, Reshape(W, [1, C, 1...]))          (+ Reshape(B, [1, C, 1...]) by an Add)
 *
 * exactly (one product per element, the same one). Such layers are what
 * trim_conv_taps leaves of a 3x3 depthwise layer on 1x1 maps (MobileNetV2's
 * last stages on 32x32 images), and onnxruntime runs a grouped Conv as one
 * small product per group and sample: 960 channels at batch 16 took 1.2 to
 * 8.5 ms per layer, forward and each gradient, against an elementwise Mul.
 * The gradients of a Mul are a Mul and a ReduceSum.
 *
 * Runs in train mode only, before the gradients are built
 * (`beforeGradientsPipeline`): in eval mode a Conv keeps its weight's name
 * and the batch norm folded into it.
 *
 * Conditions: static channels C = group = M, a weight [C, 1, 1...], a stride
 * of 1 and pads of 0 on every spatial dim. The Mul takes the Conv's name and
 * output.
 */
export const depthwiseScale = definePass({ id: "depthwise_scale", modes: ["train"] }, (g, ctx) => {
  let taken: Set<string> | undefined;
  const fresh = (base: string) => freshName(g, base, taken ??= takenNames(g));
  const out: Node[] = [];
  let fired = 0;
  for (const n of g.nodes) {
    const r = plain(n)?.op === "Conv" ? rewrite(g, n, fresh) : undefined;
    if (!r) {
      out.push(n);
      continue;
    }
    noteRewrite(ctx, [{ ...n }]);
    out.push(...r);
    fired++;
  }
  if (fired) g.nodes = out;
  return fired > 0;
});

function rewrite(g: Graph, conv: Node, fresh: (base: string) => string): Node[] | undefined {
  const [x, w, b] = conv.inputs;
  const p = convGeometry(g, conv);
  if (!p || p.channelsIn < 2 || p.group !== p.channelsIn || p.channelsOut !== p.channelsIn) {
    return undefined;
  }
  if (numel(p.kernel) !== 1 || p.strides.some((s) => s !== 1) || p.pads.some((v) => v !== 0)) {
    return undefined;
  }
  const wt = g.types.get(w)!, yt = g.types.get(conv.outputs[0])!;
  const c = p.channelsIn, rank = p.n + 2;
  const ones = new Array<number>(p.n).fill(1);
  const shape = fresh(`${conv.name}/scale/shape`);
  g.initializers.set(shape, tensor("i64", [rank], [1, c, ...ones]));
  g.types.set(shape, { dtype: "i64", shape: [rank] });
  const perChannel = (v: string, what: string): [Node, string] => {
    const name = fresh(`${conv.name}/scale/${what}`);
    g.types.set(name, { dtype: wt.dtype, shape: [1, c, ...ones] });
    const node: Node = {
      op: "Reshape",
      name: fresh(`${conv.name}/scale/${what}_reshape`),
      inputs: [v, shape],
      outputs: [name],
      attrs: {},
      spans: conv.spans,
    };
    return [node, name];
  };
  const [scaleNode, scale] = perChannel(w, "weight");
  const y = conv.outputs[0];
  if (!b) {
    return [scaleNode, { ...conv, op: "Mul", inputs: [x, scale], attrs: {}, outputs: [y] }];
  }
  const [biasNode, bias] = perChannel(b, "bias");
  const scaled = fresh(`${conv.name}/scaled`);
  g.types.set(scaled, { dtype: yt.dtype, shape: [...yt.shape] });
  return [
    scaleNode,
    biasNode,
    { ...conv, op: "Mul", inputs: [x, scale], attrs: {}, outputs: [scaled] },
    {
      op: "Add",
      name: fresh(`${conv.name}/bias`),
      inputs: [scaled, bias],
      outputs: [y],
      attrs: {},
      spans: conv.spans,
    },
  ];
}
